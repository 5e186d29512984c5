"""load_tool (tasks, folders, Hub ids, trust_remote_code), RemoteTool over HTTP, and the default toolbox."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
from PIL import Image

from nbagents import load_tool
from nbagents.errors import ConfigurationError, ToolError
from nbagents.results import AgentAudio, AgentImage, AgentText
from nbagents.tools import Toolbox, charts, tables, tool
from nbagents.tools.defaults import default_tools, model_tools_status
from nbagents.tools.models import TASKS, task_class
from nbagents.tools.models.language import TranslationTool
from nbagents.tools.payloads import encode_value
from nbagents.tools.pipeline import checkpoint_cached
from nbagents.tools.remote import DEFAULT_ENDPOINT, RemoteTool


def png_bytes(color="red", size=(8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(seconds=0.5, rate=16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return AgentAudio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate).wav_bytes()


class Recorder:
    """An httpx transport that records requests and answers with a queued reply."""

    def __init__(self, *replies: httpx.Response) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.replies.pop(0)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def json(self, i: int = -1):
        return json.loads(self.requests[i].content)


# --- task names ------------------------------------------------------------------------------


def test_task_names_give_lazy_tools_with_overrides():
    translator = load_tool("translator")
    assert isinstance(translator, TranslationTool) and not translator.is_initialized
    assert translator.checkpoint == "facebook/nllb-200-distilled-600M"
    mine = load_tool("translator", model_repo_id="/models/nllb", dtype="float16", token="hf_x")
    assert mine.checkpoint == "/models/nllb" and mine.dtype == "float16" and mine.token == "hf_x"
    for name in TASKS:
        assert load_tool(name).name == name


def test_offline_tool_names_give_fresh_instances():
    a, b = load_tool("rotate_image"), load_tool("rotate_image")
    assert a is not b and a.name == "rotate_image"
    with pytest.raises(ToolError, match="needs no model"):
        load_tool("rotate_image", remote=True)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(ToolError) as info:
        load_tool("translater")
    assert "translator" in str(info.value)
    with pytest.raises(ToolError, match="No model-backed tool"):
        task_class("nope")


# --- remote ----------------------------------------------------------------------------------


def test_remote_task_keeps_the_declaration_and_posts_raw_media():
    rec = Recorder(httpx.Response(200, json=[{"generated_text": " a red square "}]))
    captioner = load_tool("image_captioner", remote=True, token="hf_secret", transport=rec.transport)
    assert isinstance(captioner, RemoteTool)
    assert captioner.signature() == load_tool("image_captioner").signature()
    assert captioner.endpoint_url == DEFAULT_ENDPOINT.format(repo_id="Salesforce/blip-image-captioning-base")
    caption = captioner(AgentImage(Image.new("RGB", (8, 6), "red")))
    assert caption == "a red square" and isinstance(caption, AgentText)
    request = rec.requests[0]
    assert request.headers["authorization"] == "Bearer hf_secret"
    assert request.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(request.content)).size == (8, 6)


def test_remote_payloads_and_answers_per_task():
    rec = Recorder(httpx.Response(200, json=[{"translation_text": "bonjour"}]))
    translator = load_tool("translator", remote=True, endpoint_url="https://my.endpoint/t", transport=rec.transport)
    assert translator(text="hello", src_lang="English", tgt_lang="French") == "bonjour"
    assert rec.json() == {"inputs": "hello", "parameters": {"src_lang": "eng_Latn", "tgt_lang": "fra_Latn"}}

    rec = Recorder(httpx.Response(200, json={"sequence": "x", "labels": ["sad", "happy"], "scores": [0.9, 0.1]}))
    classifier = load_tool("text_classifier", remote=True, transport=rec.transport)
    assert classifier("x", "happy, sad") == "sad"
    assert rec.json()["parameters"] == {"candidate_labels": ["happy", "sad"]}

    rec = Recorder(httpx.Response(200, json=[{"answer": "blue", "score": 0.2}, {"answer": "red", "score": 0.7}]))
    qa = load_tool("image_qa", remote=True, transport=rec.transport)
    assert qa(image=Image.new("RGB", (4, 4)), question="color?") == "red"
    sent = rec.json()["inputs"]
    assert sent["question"] == "color?" and Image.open(io.BytesIO(base64.b64decode(sent["image"]))).size == (4, 4)

    rec = Recorder(httpx.Response(200, content=png_bytes("blue"), headers={"content-type": "image/png"}))
    generator = load_tool("image_generator", remote=True, transport=rec.transport)
    assert "stable-diffusion-xl" in generator.endpoint_url
    picture = generator(prompt="a blue square")
    assert isinstance(picture, AgentImage) and picture.to_raw().getpixel((0, 0)) == (0, 0, 255)
    assert rec.json() == {"inputs": "a blue square"}

    rec = Recorder(httpx.Response(200, content=wav_bytes(), headers={"content-type": "audio/wav"}))
    speech = load_tool("text_reader", remote=True, transport=rec.transport)("hello")
    assert isinstance(speech, AgentAudio) and speech.duration == pytest.approx(0.5)

    rec = Recorder(httpx.Response(200, json={"text": " hello there "}))
    transcriber = load_tool("transcriber", remote=True, transport=rec.transport)
    assert transcriber(AgentAudio(wav_bytes())) == "hello there"
    assert rec.requests[0].headers["content-type"] == "audio/wav"

    rec = Recorder(httpx.Response(200, json=[{"label": "cat", "mask": base64.b64encode(png_bytes("white")).decode()}]))
    mask = load_tool("image_segmenter", remote=True, transport=rec.transport)(Image.new("RGB", (8, 6)), "cat")
    assert isinstance(mask, AgentImage) and mask.size == (8, 6)


def test_encode_value_makes_media_json_friendly():
    def decoded_size(text):
        return Image.open(io.BytesIO(base64.b64decode(text))).size

    picture = Image.new("RGB", (3, 2))
    encoded = encode_value({"a": picture, "b": [AgentImage(picture), b"\x00\x01"], 7: "x", "n": 1.5})
    assert set(encoded) == {"a", "b", "7", "n"} and encoded["7"] == "x" and encoded["n"] == 1.5
    assert decoded_size(encoded["a"]) == decoded_size(encoded["b"][0]) == (3, 2)
    assert base64.b64decode(encoded["b"][1]) == b"\x00\x01"
    sound = AgentAudio(wav_bytes())
    assert base64.b64decode(encode_value((sound,))[0]) == sound.wav_bytes()
    json.dumps(encoded)  # nothing left that JSON cannot hold


def test_remote_errors_are_tool_errors():
    cases = [
        (httpx.Response(503, json={"error": "loading", "estimated_time": 20.0}), "loading the model \\(about 20 s\\)"),
        (httpx.Response(401, json={"error": "Invalid token"}), "refused"),
        (httpx.Response(404, text="no"), "does not exist"),
        (httpx.Response(429, text="slow down"), "rate limit"),
        (httpx.Response(500, json={"error": "boom"}), "500: boom"),
        (httpx.Response(200, json={"error": "bad input"}), "bad input"),
        (httpx.Response(200, json={"unexpected": 1}), "no text"),
    ]
    for response, message in cases:
        t = load_tool("summarizer", remote=True, transport=Recorder(response).transport)
        with pytest.raises(ToolError, match=message):
            t("some text")

    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    t = load_tool("summarizer", remote=True, transport=httpx.MockTransport(refuse))
    with pytest.raises(ToolError, match="Cannot reach"):
        t("some text")
    with pytest.raises(ToolError, match="has no argument"):
        t(texte="x")
    with pytest.raises(ToolError, match="needs the argument"):
        t()


def test_ambient_token_goes_only_to_hugging_face_hosts(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_ambient")
    rec = Recorder(httpx.Response(200, json=[{"summary_text": "s"}]), httpx.Response(200, json=[{"summary_text": "s"}]))
    load_tool("summarizer", remote=True, transport=rec.transport)("text")
    load_tool("summarizer", remote=True, endpoint_url="https://example.org/x", transport=rec.transport)("text")
    assert rec.requests[0].headers["authorization"] == "Bearer hf_ambient"
    assert "authorization" not in rec.requests[1].headers


def test_remote_tool_over_a_real_loopback_server():
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server API
            seen["body"] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen["path"] = self.path
            body = png_bytes("green", (5, 5))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/generate"
        painter = RemoteTool(url, name="painter", description="Paint `prompt`.", inputs={"prompt": "str"},
                             output_type="image", timeout=10)
        picture = painter("a green square")
        assert isinstance(picture, AgentImage) and picture.size == (5, 5)
        assert seen == {"body": {"inputs": "a green square"}, "path": "/generate"}
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_remote_tool_saves_without_code_or_token(tmp_path):
    captioner = load_tool("image_captioner", remote=True, token="hf_secret", endpoint_url="https://my.endpoint/cap")
    folder = captioner.save(tmp_path / "remote")
    assert sorted(p.name for p in folder.iterdir()) == ["tool.json"]
    assert "hf_secret" not in (folder / "tool.json").read_text()
    rec = Recorder(httpx.Response(200, json=[{"generated_text": "x"}]))
    again = load_tool(folder, transport=rec.transport)  # no code: no trust needed
    assert isinstance(again, RemoteTool) and again.endpoint_url == "https://my.endpoint/cap"
    assert again.signature() == captioner.signature()
    again(Image.new("RGB", (2, 2)))
    assert rec.requests[0].headers["content-type"] == "image/png"  # the task's payload came back too


# --- folders and trust -----------------------------------------------------------------------


CUSTOM_TOOLS = '''
from nbagents.tools import Tool, tool


class ShoutTool(Tool):
    name = "shout"
    description = "Say `text` loudly."
    inputs = {"text": {"type": "str", "description": "What to say."}}
    output_type = "str"

    def __init__(self, marks: int = 1):
        self.marks = marks
        super().__init__()

    def forward(self, text):
        return text.upper() + "!" * self.marks


def reverse_text(text: str) -> str:
    """Reverse `text`."""
    return text[::-1]


REVERSE = tool(reverse_text)
'''


@pytest.fixture
def custom_module(tmp_path):
    path = tmp_path / "custom_tools.py"
    path.write_text(textwrap.dedent(CUSTOM_TOOLS))
    spec = importlib.util.spec_from_file_location("custom_tools_for_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_saved_code_runs_only_with_trust_remote_code(tmp_path, custom_module):
    folder = custom_module.ShoutTool().save(tmp_path / "shout")
    assert {p.name for p in folder.iterdir()} == {"tool.json", "tool.py"}
    with pytest.raises(ToolError, match="trust_remote_code=True") as info:
        load_tool(folder)
    assert "tool.py" in str(info.value)
    loaded = load_tool(str(folder), trust_remote_code=True, marks=3)
    assert loaded("hey") == "HEY!!!" and isinstance(loaded("hey"), AgentText)
    assert loaded.signature() == custom_module.ShoutTool().signature()
    assert type(loaded) is not custom_module.ShoutTool  # imported from the folder, not reused


def test_function_tool_round_trip(tmp_path, custom_module):
    folder = custom_module.REVERSE.save(tmp_path / "reverse")
    loaded = load_tool(folder, trust_remote_code=True)
    assert loaded("abc") == "cba"
    assert loaded.signature() == "reverse_text(text: str) -> str: Reverse `text`."


def test_builtin_model_tool_saves_as_a_declaration(tmp_path):
    translator = load_tool("translator", model_repo_id="/models/nllb", dtype="bfloat16")
    folder = translator.save(tmp_path / "translator")
    assert sorted(p.name for p in folder.iterdir()) == ["tool.json"]
    decl = json.loads((folder / "tool.json").read_text())
    assert decl["task"] == "translator" and decl["model"] == "/models/nllb"
    loaded = load_tool(folder)
    assert isinstance(loaded, TranslationTool) and loaded.checkpoint == "/models/nllb"
    assert loaded.dtype == "bfloat16" and not loaded.is_initialized
    assert load_tool(folder, model_repo_id="other/nllb").checkpoint == "other/nllb"


def test_builtin_offline_tool_saves_as_its_name(tmp_path):
    folder = load_tool("flip_image").save(tmp_path / "flip")
    assert sorted(p.name for p in folder.iterdir()) == ["tool.json"]
    flipped = load_tool(folder)(Image.new("RGB", (4, 2), "red"))
    assert isinstance(flipped, AgentImage) and flipped.size == (4, 2)


def test_transformers_agents_folder_format(tmp_path):
    folder = tmp_path / "ta"
    folder.mkdir()
    (folder / "tool_config.json").write_text(json.dumps({"tool_class": "echo.EchoTool", "name": "echo"}))
    (folder / "helpers.py").write_text("def twice(x):\n    return x + x\n")
    (folder / "echo.py").write_text(textwrap.dedent('''
        from nbagents.tools import Tool
        from .helpers import twice

        class EchoTool(Tool):
            name = "echo"
            description = "Repeat `text` twice."
            inputs = {"text": "str"}
            output_type = "str"

            def forward(self, text):
                return twice(text)
    '''))
    with pytest.raises(ToolError, match="echo.py, helpers.py"):
        load_tool(folder)
    assert load_tool(folder, trust_remote_code=True)("ab") == "abab"


def test_bad_folders(tmp_path):
    with pytest.raises(ToolError, match="no tool.json"):
        load_tool(tmp_path)
    (tmp_path / "tool.json").write_text("{not json")
    with pytest.raises(ToolError, match="not valid JSON"):
        load_tool(tmp_path)
    (tmp_path / "tool.json").write_text(json.dumps({"name": "x", "module": "tool.py", "class": "Missing"}))
    (tmp_path / "tool.py").write_text("import not_a_real_package_xyz\n")
    with pytest.raises(ToolError, match="not_a_real_package_xyz"):
        load_tool(tmp_path, trust_remote_code=True)


def test_hub_repo_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ToolError) as info:
        load_tool("nbagents-tests/some-tool")
    assert "cannot be reached" in str(info.value) or "Cannot get the tool" in str(info.value)


# --- the default toolbox ---------------------------------------------------------------------


def _fake_cache(root, repo_id, files=("config.json", "model.safetensors")):
    folder = root / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("abc123")
    snapshot = folder / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for name in files:
        (snapshot / name).write_text("{}")


def test_default_tools_include_model_tools_whose_weights_are_cached(tmp_path, monkeypatch):
    monkeypatch.delenv("NBAGENTS_MODEL_TOOLS", raising=False)
    _fake_cache(tmp_path, "facebook/nllb-200-distilled-600M")
    _fake_cache(tmp_path, "microsoft/speecht5_tts")  # text_reader also needs its vocoder: left out
    _fake_cache(tmp_path, "google/flan-t5-base", files=("config.json",))  # no weights: left out
    names = [t.name for t in default_tools(cache_dir=tmp_path)]
    assert "translator" in names and "rotate_image" in names and "make_tone" in names
    assert "text_reader" not in names and "text_qa" not in names and "summarizer" not in names
    status = model_tools_status(cache_dir=tmp_path)
    assert status["translator"] and not status["text_reader"] and set(status) == set(TASKS)
    assert checkpoint_cached("facebook/nllb-200-distilled-600M", cache_dir=tmp_path)
    assert not checkpoint_cached("facebook/nllb-200-distilled-600M", cache_dir=tmp_path / "empty")


def test_default_tools_modes(tmp_path, monkeypatch):
    offline = {t.name for t in default_tools(model_tools="none")}
    everything = {t.name for t in default_tools(model_tools=True)}
    assert everything == offline | set(TASKS)
    monkeypatch.setenv("NBAGENTS_MODEL_TOOLS", "all")
    assert {t.name for t in default_tools(cache_dir=tmp_path)} == everything
    monkeypatch.setenv("NBAGENTS_MODEL_TOOLS", "sometimes")
    with pytest.raises(ConfigurationError, match="auto"):
        default_tools()


def test_default_tools_are_fresh_unique_and_compact(tmp_path):
    first, second = default_tools(model_tools="all"), default_tools(model_tools="all")
    assert all(a is not b for a, b in zip(first, second))
    names = [t.name for t in first]
    assert len(names) == len(set(names))
    assert {"translator", "text_reader", "rotate_image", "grayscale_image"} <= set(names)
    offline = default_tools(model_tools="none")
    tabular = {f.__name__ for f in (*tables.FUNCTIONS, *charts.FUNCTIONS)}  # budgeted apart
    assert sum(len(t.signature()) for t in offline if t.name not in tabular) < 2100
    assert sum(len(t.signature()) for t in offline if t.name in tabular) < 2000
    assert sum(len(t.signature()) for t in first if t.name not in tabular) < 3100
    for t in first:
        assert len(t.summary) <= 60 and "\n" not in t.signature(), t.signature()


def test_toolbox_remove_replace_extend():
    box = Toolbox(default_tools(model_tools="none"))
    del box["text_downloader"]
    assert "text_downloader" not in box

    @tool
    def rotate_image(image: Image.Image, degrees: float) -> Image.Image:
        """Rotate `image` clockwise by `degrees`."""
        return image.rotate(-degrees, expand=True)

    box.add(rotate_image)
    assert box["rotate_image"] is rotate_image
    box.add(load_tool("translator"))
    assert "translator" in box


def test_agent_runs_the_prompt_example_with_the_default_tools():
    from nbagents import Agent, ScriptedEngine

    program = (
        "I will rotate the image by 90 degrees, then convert it to grayscale.\n"
        "```py\nrotated = rotate_image(image=image, degrees=90)\nresult = grayscale_image(image=rotated)\n```"
    )
    agent = Agent(ScriptedEngine([program]))
    assert "rotate_image" in agent.toolbox and "grayscale_image" in agent.toolbox
    result = agent.run("Turn the image a quarter turn and make it grayscale.", image=Image.new("RGB", (40, 20), "red"))
    assert isinstance(result, AgentImage) and result.size == (20, 40) and result.to_raw().mode == "L"
