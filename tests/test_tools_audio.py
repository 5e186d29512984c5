"""The audio tools that need no model, on real synthesized sound (durations, sample values, spectra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from nbagents.errors import ToolError
from nbagents.results import AgentAudio, output_dir
from nbagents.tools import audio as au


def peak_hz(audio: AgentAudio) -> float:
    """The strongest frequency in ``audio`` (mono)."""
    samples = audio.samples if audio.samples.ndim == 1 else audio.samples.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / audio.samplerate)[spectrum.argmax()])


def sine(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


@pytest.fixture
def tools():
    return {t.name: t for t in au.audio_tools()}


def test_make_tone_has_the_frequency_length_and_fades():
    tone = au.make_tone(440, 0.5, 16000)
    assert isinstance(tone, AgentAudio)
    assert tone.samplerate == 16000 and len(tone.samples) == 8000 and tone.samples.dtype == np.float32
    assert tone.duration == pytest.approx(0.5)
    assert abs(peak_hz(tone) - 440) < 3
    assert tone.samples[0] == 0.0 and abs(tone.samples[-1]) < 1e-3  # faded in and out
    middle = tone.samples[2000:6000]
    assert np.abs(middle).max() == pytest.approx(0.5, abs=1e-3)
    # the middle is the exact sine
    t = np.arange(2000, 6000) / 16000
    assert np.allclose(middle, 0.5 * np.sin(2 * np.pi * 440 * t), atol=1e-5)
    with pytest.raises(ToolError, match="frequency"):
        au.make_tone(9000, 1, 16000)
    with pytest.raises(ToolError, match="duration"):
        au.make_tone(440, 100_000)


def test_save_then_load_round_trips_samples(tmp_path):
    tone = au.make_tone(330, 0.25, 22050)
    wav = au.save_audio(tone, "tone")
    assert wav.endswith("tone.wav") and Path(wav).parent == output_dir().resolve()
    back = au.load_audio(wav)
    assert back.samplerate == 22050 and len(back.samples) == len(tone.samples)
    assert np.abs(back.samples - tone.samples).max() < 1 / 16000  # 16-bit PCM
    flac = au.save_audio(tone, "sub/tone.flac")
    info = soundfile.info(flac)
    assert info.format == "FLAC" and info.frames == len(tone.samples)


def test_save_audio_writes_only_inside_the_output_folder(tmp_path):
    tone = au.make_tone(duration=0.1)
    for bad in (str(tmp_path / "outside.wav"), "../escape.wav", "/etc/x.wav"):
        with pytest.raises(ToolError, match="only inside the output folder"):
            au.save_audio(tone, bad)
    with pytest.raises(ToolError, match=".mp3"):
        au.save_audio(tone, "song.mp3")
    assert not (tmp_path / "outside.wav").exists()


def test_load_audio_refuses_hidden_missing_and_non_audio(tmp_path):
    hidden = tmp_path / ".private"
    hidden.mkdir()
    soundfile.write(hidden / "memo.wav", sine(440, 0.1, 8000), 8000)
    with pytest.raises(ToolError, match="hidden"):
        au.load_audio(str(hidden / "memo.wav"))
    with pytest.raises(ToolError, match="No sound file"):
        au.load_audio(str(tmp_path / "nothing.wav"))
    (tmp_path / "fake.wav").write_text("not sound")
    with pytest.raises(ToolError, match="Cannot read sound"):
        au.load_audio(str(tmp_path / "fake.wav"))


def test_trim_keeps_the_exact_samples():
    ramp = AgentAudio(np.linspace(-1, 1, 16000, dtype=np.float32), 8000)  # 2 s
    part = au.trim_audio(ramp, 0.5, 1.25)
    assert part.duration == pytest.approx(0.75)
    assert np.array_equal(part.samples, ramp.samples[4000:10000])
    assert au.trim_audio(ramp, 1.5).duration == pytest.approx(0.5)
    assert au.trim_audio(ramp, 1.0, 99).duration == pytest.approx(1.0)  # end clipped
    with pytest.raises(ToolError, match="Nothing to keep"):
        au.trim_audio(ramp, 1.5, 1.0)


def test_concatenate_matches_rate_and_channels():
    first = au.make_tone(440, 0.5, 16000)
    second = AgentAudio(sine(880, 0.25, 8000), 8000)
    both = au.concatenate_audio(first, second)
    assert both.samplerate == 16000
    assert both.duration == pytest.approx(0.75, abs=1e-3)
    assert np.array_equal(both.samples[:8000], first.samples)
    assert abs(peak_hz(AgentAudio(both.samples[8200:], 16000)) - 880) < 10  # resampled, same pitch
    stereo = AgentAudio(np.stack([sine(440, 0.1, 16000), -sine(440, 0.1, 16000)], axis=1), 16000)
    assert au.concatenate_audio(stereo, first).samples.shape == (1600 + 8000, 2)
    assert au.concatenate_audio(first, stereo).samples.ndim == 1


def test_change_volume_scales_and_clips():
    tone = au.make_tone(440, 0.2, 16000)
    quiet = au.change_volume(tone, 0.5)
    assert np.allclose(quiet.samples, tone.samples * 0.5)
    loud = au.change_volume(tone, 4)
    assert loud.samples.max() == pytest.approx(1.0) and loud.samples.min() == pytest.approx(-1.0)
    with pytest.raises(ToolError, match="factor"):
        au.change_volume(tone, -1)


def test_resample_keeps_pitch_and_does_not_alias():
    up = au.resample(sine(440, 1, 8000), 8000, 16000)
    assert len(up) == 16000
    assert abs(peak_hz(AgentAudio(up, 16000)) - 440) < 3
    # 6 kHz cannot exist at 8 kHz sampling: it must vanish, not fold to 2 kHz
    down = au.resample(sine(6000, 1, 16000), 16000, 8000)
    assert len(down) == 8000 and np.abs(down[100:-100]).max() < 0.05


def test_audio_duration_and_tool_objects(tools, tmp_path):
    tone = au.make_tone(440, 1.5, 8000)
    assert au.audio_duration(tone) == pytest.approx(1.5)
    assert tools["audio_duration"].signature(short=True) == "audio_duration(audio: Audio) -> float"
    assert tools["trim_audio"].signature(short=True) == \
        "trim_audio(audio: Audio, start: float = 0.0, end: float = None) -> Audio"
    made = tools["make_tone"](frequency=220, duration=0.5)
    assert isinstance(made, AgentAudio) and made.samplerate == 16000
    louder = tools["change_volume"](audio=made, factor=1.5)
    assert isinstance(louder, AgentAudio)
    path = tools["save_audio"](audio=louder, path="out.wav")
    assert Path(path).is_file()
    assert tools["audio_duration"](audio=path) == pytest.approx(0.5)  # a path works as audio too
    for t in tools.values():
        assert len(t.summary) <= 60, t.summary
