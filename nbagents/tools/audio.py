"""Audio tools that need no model (numpy and soundfile only).

Audio travels between tools as :class:`~nbagents.results.AgentAudio` (float32 samples, frames or
frames x channels, and a sample rate). Tools also accept a file path or a ``(samples, rate)``
pair. Files are read under the rules of :func:`~nbagents.tools.text.readable_path` and written
only inside the output folder.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import ToolError
from ..results import AgentAudio
from .base import Tool
from .builtin import builtin_tool
from .text import readable_path, writable_path

__all__ = [
    "FUNCTIONS",
    "MAX_SECONDS",
    "as_audio",
    "resample",
    "load_audio",
    "trim_audio",
    "concatenate_audio",
    "change_volume",
    "make_tone",
    "save_audio",
    "audio_duration",
    "audio_tools",
]

MAX_SECONDS = 3600.0
MAX_AUDIO_BYTES = 200_000_000
_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


def as_audio(value: Any, name: str = "audio") -> AgentAudio:
    """An ``AgentAudio`` from an ``AgentAudio``, a file path, encoded bytes or ``(samples, rate)``."""
    if isinstance(value, AgentAudio):
        return value
    if isinstance(value, (str, os.PathLike)):
        return load_audio(value)
    if isinstance(value, (bytes, bytearray, tuple)) or hasattr(value, "shape"):
        try:
            return AgentAudio(value)
        except Exception as e:  # soundfile errors, bad shapes
            raise ToolError(f"`{name}` is not readable audio: {e}") from e
    raise ToolError(f"`{name}` must be audio, got {type(value).__name__}.")


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Resample ``samples`` (frames or frames x channels) from ``rate`` to ``new_rate`` Hz.

    Band-limited (FFT) resampling: nothing above the lower Nyquist frequency survives, so
    downsampling does not alias.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if rate == new_rate or len(samples) == 0:
        return samples
    n_out = max(1, int(round(len(samples) * new_rate / rate)))
    spectrum = np.fft.rfft(samples, axis=0)
    keep = min(spectrum.shape[0], n_out // 2 + 1)
    shape = (n_out // 2 + 1,) + spectrum.shape[1:]
    out_spec = np.zeros(shape, dtype=spectrum.dtype)
    out_spec[:keep] = spectrum[:keep]
    out = np.fft.irfft(out_spec, n=n_out, axis=0) * (n_out / len(samples))
    return out.astype(np.float32)


def _seconds(value: Any, name: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError) as e:
        raise ToolError(f"`{name}` must be a number of seconds, got {value!r}.") from e
    if not np.isfinite(seconds):
        raise ToolError(f"`{name}` must be a finite number of seconds, got {value!r}.")
    return seconds


def load_audio(path: str) -> AgentAudio:
    """Open the sound file at `path`.

    WAV, FLAC and OGG files are read.
    """
    resolved = readable_path(path, max_bytes=MAX_AUDIO_BYTES, what="sound file")
    try:
        return AgentAudio(str(resolved))
    except Exception as e:  # soundfile.LibsndfileError and friends
        raise ToolError(f"Cannot read sound from {str(path)!r}: {e}") from e


def trim_audio(audio: AgentAudio, start: float = 0.0, end: float | None = None) -> AgentAudio:
    """Keep `audio` from `start` to `end` seconds.

    With no `end`, up to the end.
    """
    audio = as_audio(audio)
    start = max(0.0, _seconds(start, "start"))
    end = audio.duration if end is None else min(_seconds(end, "end"), audio.duration)
    if end <= start:
        raise ToolError(f"Nothing to keep between start={start} and end={end} "
                        f"in audio of {audio.duration:.2f} s.")
    a, b = int(round(start * audio.samplerate)), int(round(end * audio.samplerate))
    return AgentAudio(audio.samples[a:b].copy(), audio.samplerate)


def _channels(samples: np.ndarray) -> int:
    return 1 if samples.ndim == 1 else samples.shape[1]


def _with_channels(samples: np.ndarray, channels: int) -> np.ndarray:
    if _channels(samples) == channels:
        return samples
    mono = samples if samples.ndim == 1 else samples.mean(axis=1)
    return mono if channels == 1 else np.repeat(mono[:, None], channels, axis=1)


def concatenate_audio(first: AgentAudio, second: AgentAudio) -> AgentAudio:
    """Join `first` and `second` one after the other.

    `second` is converted to the sample rate and channel count of `first`.
    """
    first, second = as_audio(first, "first"), as_audio(second, "second")
    if first.duration + second.duration > MAX_SECONDS:
        raise ToolError(f"The result would last more than {MAX_SECONDS:.0f} s.")
    tail = resample(second.samples, second.samplerate, first.samplerate)
    tail = _with_channels(tail, _channels(first.samples))
    return AgentAudio(np.concatenate([first.samples, tail], axis=0).astype(np.float32), first.samplerate)


def change_volume(audio: AgentAudio, factor: float) -> AgentAudio:
    """Make `audio` louder or quieter by `factor`.

    2 is twice as loud, 0.5 half as loud. Samples are clipped to [-1, 1].
    """
    audio = as_audio(audio)
    factor = float(factor)
    if not 0 <= factor <= 100:
        raise ToolError(f"factor must be between 0 and 100, got {factor}.")
    return AgentAudio(np.clip(audio.samples * factor, -1.0, 1.0).astype(np.float32), audio.samplerate)


def make_tone(frequency: float = 440.0, duration: float = 1.0, samplerate: int = 16000) -> AgentAudio:
    """A sine tone of `frequency` Hz for `duration` seconds.

    Amplitude 0.5, with 5 ms fades at both ends so it starts and stops without a click.
    """
    frequency, duration, samplerate = float(frequency), _seconds(duration, "duration"), int(samplerate)
    if not 1_000 <= samplerate <= 192_000:
        raise ToolError(f"samplerate must be between 1000 and 192000, got {samplerate}.")
    if not 0 < duration <= MAX_SECONDS:
        raise ToolError(f"duration must be between 0 and {MAX_SECONDS:.0f} seconds, got {duration}.")
    if not 0 < frequency < samplerate / 2:
        raise ToolError(f"frequency must be between 0 and {samplerate / 2:.0f} Hz at this samplerate, got {frequency}.")
    n = int(round(duration * samplerate))
    t = np.arange(n, dtype=np.float64) / samplerate
    wave = 0.5 * np.sin(2 * np.pi * frequency * t)
    fade = min(int(0.005 * samplerate), n // 2)
    if fade:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade))
        wave[:fade] *= ramp
        wave[n - fade:] *= ramp[::-1]
    return AgentAudio(wave.astype(np.float32), samplerate)


def save_audio(audio: AgentAudio, path: str) -> str:
    """Save `audio` to a file; returns its path.

    `path` is a file name inside the output folder. The format follows the extension (.wav, .flac, .ogg; none: .wav).
    """
    import soundfile

    audio = as_audio(audio)
    target = writable_path(path, default_suffix=".wav")
    fmt = _FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ToolError(f"Cannot save audio as {target.suffix!r}.", hint="Use .wav, .flac or .ogg.")
    soundfile.write(str(target), audio.samples, audio.samplerate, format=fmt[0], subtype=fmt[1])
    return str(target)


def audio_duration(audio: AgentAudio) -> float:
    """Length of `audio` in seconds."""
    return float(as_audio(audio).duration)


# the tool functions of this module, in the order the toolbox lists them
FUNCTIONS = (load_audio, trim_audio, concatenate_audio, change_volume, make_tone, save_audio,
              audio_duration)


def audio_tools() -> list[Tool]:
    """Fresh instances of the audio tools."""
    return [builtin_tool(f) for f in FUNCTIONS]
