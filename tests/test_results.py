import base64
import io
import os

import numpy as np
import pytest
import soundfile
from PIL import Image

from nbagents.errors import ToolError
from nbagents.results import AgentAudio, AgentImage, AgentText, unwrap, wrap


def test_agent_text_is_a_str():
    t = AgentText("hello")
    assert t == "hello" and isinstance(t, str) and t.upper() == "HELLO"
    assert t.to_raw() == "hello" and type(t.to_raw()) is str
    assert t.to_string() == "hello"


def test_agent_image_from_pil_renders_png_and_saves(tmp_path):
    img = Image.new("RGB", (20, 10), (255, 0, 0))
    a = AgentImage(img)
    assert a.to_raw() is img
    bundle = a._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"}
    decoded = Image.open(io.BytesIO(bundle["image/png"]))
    assert decoded.size == (20, 10) and decoded.getpixel((3, 3)) == (255, 0, 0)
    path = a.to_string()
    assert path.endswith(".png") and os.path.isfile(path)
    assert str(tmp_path) in path  # NBAGENTS_OUTPUT_DIR from conftest
    assert Image.open(path).getpixel((0, 0)) == (255, 0, 0)
    assert a.summary() == "image 20x10"


def test_agent_image_from_path_bytes_and_arrays(tmp_path):
    p = tmp_path / "x.png"
    Image.new("L", (4, 3), 7).save(p)
    assert AgentImage(str(p)).size == (4, 3)
    assert AgentImage(p.read_bytes()).to_raw().getpixel((0, 0)) == 7
    arr = np.zeros((5, 6, 3), dtype="uint8")
    arr[..., 1] = 200
    assert AgentImage(arr).to_raw().getpixel((0, 0)) == (0, 200, 0)
    assert AgentImage(np.ones((2, 2), dtype="float32")).to_raw().getpixel((0, 0)) == 255
    with pytest.raises(ToolError):
        AgentImage(str(tmp_path / "missing.png"))


def test_agent_audio_renders_audio_element_with_wav():
    sr = 8000
    samples = np.sin(np.linspace(0, 2 * np.pi * 440, sr)).astype("float32") * 0.5
    a = AgentAudio(samples, sr)
    assert a.duration == pytest.approx(1.0)
    html = a._repr_html_()
    assert html.startswith("<audio controls")
    data = html.split("base64,")[1].split('"')[0]
    decoded, rate = soundfile.read(io.BytesIO(base64.b64decode(data)))
    assert rate == sr and len(decoded) == sr
    assert np.allclose(decoded, samples, atol=1e-3)
    path = a.to_string()
    assert path.endswith(".wav")
    assert AgentAudio(path).samplerate == sr
    assert AgentAudio((samples, sr)).duration == pytest.approx(1.0)
    assert AgentAudio(a.wav_bytes()).samplerate == sr
    assert "audio 1.00 s at 8000 Hz" == a.summary()


def test_wrap_and_unwrap():
    assert isinstance(wrap("x"), AgentText)
    img = Image.new("RGB", (1, 1))
    assert isinstance(wrap(img), AgentImage)
    assert wrap(3) == 3 and wrap(None) is None and wrap([1]) == [1]
    assert isinstance(wrap(np.zeros(10), "audio"), AgentAudio)
    assert unwrap(AgentImage(img)) is img
    assert type(unwrap(AgentText("a"))) is str
    assert unwrap({"k": [AgentText("a")]}) == {"k": ["a"]}
