"""``nbagents mcp serve`` for real: the server started as a subprocess, driven by the ``mcp`` SDK's
own client over stdio (one server shared by the module) and over streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("mcp")
import httpx2  # noqa: E402  (the SDK's HTTP client)
import soundfile  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

from nbagents import tool as tool_factory  # noqa: E402
from nbagents.mcp.server import input_schema, load_user_tools, served_tools  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
USER_TOOLS = "tests/mcp_server_tools.py:TOOLS"
ENV = {"PYTHONPATH": str(ROOT), "NBAGENTS_MODEL_TOOLS": "none"}

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
async def session(tmp_path_factory):
    """One stdio server for the module: the default tools plus the user's, stopped at the end."""
    log = tmp_path_factory.mktemp("mcp") / "stderr.txt"
    params = StdioServerParameters(command=sys.executable, cwd=str(ROOT), env=ENV,
                                   args=["-m", "nbagents.cli", "mcp", "serve", "--tools", USER_TOOLS])
    with log.open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                yield s


def _text(result) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _decoded(block) -> Image.Image:
    assert block.type == "image" and block.mime_type == "image/png"
    return Image.open(io.BytesIO(base64.b64decode(block.data)))


def _pixels(image: Image.Image) -> list:
    return [image.getpixel((x, y)) for y in range(image.height) for x in range(image.width)]


def _pattern() -> Image.Image:
    """A 3x2 image whose every pixel differs: red green blue / white black gray."""
    image = Image.new("RGB", (3, 2))
    image.putdata([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0), (128, 128, 128)])
    return image


# --- listing -----------------------------------------------------------------------------------

async def test_lists_the_default_tools_and_the_users_with_schemas(session):
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert {"flip_image", "resize_image", "make_tone", "trim_audio", "word_count", "read_text_file",
            "shout", "square_facts", "checkerboard", "fail_loudly"} <= set(tools)
    flip = tools["flip_image"]
    assert flip.description.startswith("Mirror `image` left to right")
    assert flip.input_schema["required"] == ["image"]
    assert flip.input_schema["properties"]["direction"] == {
        "type": "string", "enum": ["horizontal", "vertical"], "default": "horizontal"}
    assert "base64" in flip.input_schema["properties"]["image"]["description"]
    assert flip.input_schema["additionalProperties"] is False
    assert flip.annotations.read_only_hint is True and flip.annotations.open_world_hint is False
    save = tools["save_audio"].annotations
    assert save.read_only_hint is False and save.destructive_hint is True
    assert tools["text_downloader"].annotations.open_world_hint is True

    shout = tools["shout"]
    assert shout.description == "Shout `text`, `times` times."
    props = shout.input_schema["properties"]
    assert shout.input_schema["required"] == ["text"]
    assert props["text"] == {"type": "string", "description": "what to shout"}
    assert props["times"] == {"type": "integer", "description": "how many times", "default": 1}
    assert props["style"]["enum"] == ["upper", "title"] and props["style"]["default"] == "upper"
    assert shout.annotations is None  # nothing is known of a user's tool
    assert tools["square_facts"].input_schema["properties"]["label"] == {"type": ["string", "null"], "default": None}
    assert "required" not in tools["make_tone"].input_schema


# --- calls -------------------------------------------------------------------------------------

async def test_text_tools(session):
    result = await session.call_tool("shout", {"text": "hello", "times": 2})
    assert not result.is_error and _text(result) == "HELLO HELLO"
    result = await session.call_tool("shout", {"text": "hello there", "style": "title"})
    assert _text(result) == "Hello There"
    result = await session.call_tool("word_count", {"text": "one two three"})
    assert _text(result) == "3" and result.structured_content == {"result": 3}


async def test_plain_values_come_as_structured_content(session):
    result = await session.call_tool("square_facts", {"n": 3})
    assert not result.is_error
    assert result.structured_content == {"n": 3, "square": 9, "cube": 27, "label": None}
    assert json.loads(_text(result)) == result.structured_content


async def test_image_tool_from_a_file_path(session, tmp_path):
    path = tmp_path / "pattern.png"
    _pattern().save(path)
    result = await session.call_tool("flip_image", {"image": str(path), "direction": "horizontal"})
    assert not result.is_error, _text(result)
    (block,) = result.content
    out = _decoded(block).convert("RGB")
    assert out.size == (3, 2)
    assert _pixels(out) == [(0, 0, 255), (0, 255, 0), (255, 0, 0), (128, 128, 128), (0, 0, 0),
                                   (255, 255, 255)]


async def test_image_tool_from_base64_and_a_data_uri(session):
    data = base64.b64encode(_png(_pattern())).decode("ascii")
    result = await session.call_tool("flip_image", {"image": data, "direction": "vertical"})
    out = _decoded(result.content[0]).convert("RGB")
    assert _pixels(out)[:3] == [(255, 255, 255), (0, 0, 0), (128, 128, 128)]
    result = await session.call_tool("resize_image", {"image": "data:image/png;base64," + data, "width": 6})
    out = _decoded(result.content[0]).convert("RGB")
    assert out.size == (6, 4)
    result = await session.call_tool("image_size", {"image": data})
    assert result.structured_content == {"result": [3, 2]}


async def test_a_users_image_tool(session):
    result = await session.call_tool("checkerboard", {"side": 4})
    out = _decoded(result.content[0])
    assert out.size == (4, 4) and out.getpixel((0, 0)) == 0 and out.getpixel((1, 0)) == 255


async def test_a_list_holding_media_is_one_block_per_item(session):
    result = await session.call_tool("captioned_board", {"side": 2})
    assert [b.type for b in result.content] == ["image", "text"]
    assert _decoded(result.content[0]).size == (2, 2) and result.content[1].text == "a 2x2 board"


async def test_audio_tools(session, tmp_path):
    result = await session.call_tool("make_tone", {"frequency": 440, "duration": 0.25, "samplerate": 8000})
    assert not result.is_error, _text(result)
    (block,) = result.content
    assert block.type == "audio" and block.mime_type == "audio/wav"
    samples, rate = soundfile.read(io.BytesIO(base64.b64decode(block.data)))
    assert rate == 8000 and len(samples) == 2000 and 0.4 < np.abs(samples).max() <= 0.5

    buf = io.BytesIO()
    soundfile.write(buf, np.zeros(16000, dtype="float32"), 16000, format="WAV")
    uri = "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    result = await session.call_tool("trim_audio", {"audio": uri, "start": 0.25, "end": 0.75})
    samples, rate = soundfile.read(io.BytesIO(base64.b64decode(result.content[0].data)))
    assert rate == 16000 and len(samples) == 8000
    wav = tmp_path / "silence.wav"
    wav.write_bytes(buf.getvalue())
    result = await session.call_tool("audio_duration", {"audio": str(wav)})
    assert result.structured_content == {"result": 1.0}


# --- failures ----------------------------------------------------------------------------------

async def test_a_failing_tool_is_an_error_result_with_its_message_redacted(session):
    result = await session.call_tool("fail_loudly", {"reason": "it is Tuesday"})
    assert result.is_error
    text = _text(result)
    assert "The tool 'fail_loudly' failed: ValueError: refused because it is Tuesday" in text
    assert "hf_abcdefghijklmnopqrstuvwxyz" not in text and "[REDACTED]" in text
    assert "agent.last_run" not in text


async def test_bad_arguments_are_error_results_that_name_them(session, tmp_path):
    result = await session.call_tool("shout", {"text": "a", "style": "whisper"})
    assert result.is_error and "must be one of 'upper', 'title'; got 'whisper'" in _text(result)
    result = await session.call_tool("shout", {"txt": "a"})
    assert result.is_error and "has no argument 'txt'" in _text(result) and "Closest: text" in _text(result)
    result = await session.call_tool("shout", {})
    assert result.is_error and "needs the argument 'text'" in _text(result)
    result = await session.call_tool("flip_image", {"image": str(tmp_path / "missing.png")})
    assert result.is_error and "No image file at" in _text(result)
    result = await session.call_tool("flip_image", {"image": "QUJDREVGR0hJSktMTU5PUA=="})
    assert result.is_error and "neither the path of a file" in _text(result)
    result = await session.call_tool("resize_image", {"image": "data:image/png;base64," + base64.b64encode(
        _png(_pattern())).decode(), "width": 100_000})
    assert result.is_error and "between 1 and 8192 pixels" in _text(result)


async def test_an_unknown_tool_is_a_protocol_error(session):
    with pytest.raises(MCPError, match="No tool named 'flip_imag'. Closest: flip_image"):
        await session.call_tool("flip_imag", {"image": "x"})
    result = await session.call_tool("word_count", {"text": "still working"})
    assert _text(result) == "2"


# --- streamable HTTP ---------------------------------------------------------------------------

class HTTPServer:
    """``nbagents mcp serve --http --port 0`` in a subprocess; the URL and token it prints."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nbagents.cli", "mcp", "serve", "--http", "--port", "0", *args],
            cwd=ROOT, env={**os.environ, **ENV, **(env or {})}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put("")

    def ready(self) -> tuple[str, str | None]:
        seen = []
        while True:
            line = self.lines.get(timeout=120)  # a guard against a hang, not a timing check
            seen.append(line)
            m = re.search(r"serving MCP at (http://127\.0\.0\.1:\d+/mcp) \(bearer token(?: as given|: (\S+))\)", line)
            if m:
                return m.group(1), m.group(2)
            assert line, "the server exited:\n" + "".join(seen)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _call_over_http(url: str, token: str):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                names = [t.name for t in (await s.list_tools()).tools]
                return names, await s.call_tool("shout", {"text": "over http"})


def _status(url: str, headers: dict) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
    response = httpx2.post(url, json=body, headers={"Accept": "application/json, text/event-stream", **headers})
    return response.status_code


async def test_http_with_a_token():
    server = HTTPServer("--no-default-tools", "--tools", USER_TOOLS, "--token", "s3cret-token-for-tests")
    try:
        url, shown = server.ready()
        assert shown is None  # the token given is not echoed
        names, result = await _call_over_http(url, "s3cret-token-for-tests")
        assert names == ["shout", "square_facts", "checkerboard", "captioned_board", "fail_loudly"]
        assert not result.is_error and _text(result) == "OVER HTTP"
        assert _status(url, {}) == 401
        assert _status(url, {"Authorization": "Bearer wrong-token"}) == 401
        assert _status(url, {"Authorization": "Bearer s3cret-token-for-tests"}) == 200
    finally:
        server.stop()


async def test_http_on_loopback_without_a_token_makes_one():
    server = HTTPServer("--no-default-tools", "--tools", USER_TOOLS, env={"NBAGENTS_MCP_TOKEN": ""})
    try:
        url, token = server.ready()
        assert len(token) >= 24
        assert _status(url, {}) == 401
        names, result = await _call_over_http(url, token)
        assert "shout" in names and _text(result) == "OVER HTTP"
    finally:
        server.stop()


def test_a_non_loopback_host_without_a_token_is_refused():
    done = subprocess.run([sys.executable, "-m", "nbagents.cli", "mcp", "serve", "--http", "--host", "0.0.0.0",
                           "--no-default-tools", "--tools", USER_TOOLS], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **ENV, "NBAGENTS_MCP_TOKEN": ""}, timeout=120)
    assert done.returncode == 1
    assert "Refusing to serve the toolbox on '0.0.0.0' without a token" in done.stderr
    assert "--token" in done.stderr


def test_nothing_to_serve_is_an_error(capsys):
    from nbagents.cli import main

    assert main(["mcp", "serve", "--no-default-tools"]) == 1
    assert "There are no tools to serve." in capsys.readouterr().err


def test_without_the_sdk_the_error_names_the_extra():
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('mcp', 'mcp_types', 'anyio'):\n"
            "            raise ImportError(name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "from nbagents.cli import main\n"
            "sys.exit(main(['mcp', 'serve']))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **ENV})
    assert done.returncode == 1
    assert "needs the package 'mcp'" in done.stderr and "pip install 'nbagents[mcp]'" in done.stderr


# --- in process --------------------------------------------------------------------------------

def test_loading_user_tools():
    assert [t.name for t in load_user_tools("tests/mcp_server_tools.py:BOX")] == ["shout", "square_facts"]
    assert {t.name for t in load_user_tools("tests/mcp_server_tools.py")} == {
        "shout", "square_facts", "checkerboard", "captioned_board", "fail_loudly"}
    with pytest.raises(Exception, match="has no attribute 'TOOL'. Closest: TOOLS"):
        load_user_tools("tests/mcp_server_tools.py:TOOL")
    with pytest.raises(Exception, match="No Python file at"):
        load_user_tools("tests/no_such_file.py:TOOLS")
    with pytest.raises(Exception, match="Cannot import the module 'no_such_module_here'"):
        load_user_tools("no_such_module_here")


def test_served_tools_user_tools_replace_defaults_of_the_same_name():
    @tool_factory
    def word_count(text: str) -> int:
        """Count letters instead."""
        return len(text)

    tools = served_tools([word_count], model_tools="none")
    (served,) = [t for t in tools if t.name == "word_count"]
    assert served is word_count and len({t.name for t in tools}) == len(tools)
    assert input_schema(word_count) == {"type": "object", "properties": {"text": {"type": "string"}},
                                        "additionalProperties": False, "required": ["text"]}


def test_the_before_hook_sees_each_call_and_can_refuse_it():
    from nbagents.errors import ToolError
    from nbagents.mcp.server import ToolServer

    seen, ran = [], []

    @tool_factory
    def note(text: str) -> str:
        """Note `text`."""
        ran.append(text)
        return text

    def before(request):
        seen.append((request.name, dict(request.kwargs)))
        if request.kwargs["text"] == "no":
            raise ToolError("The call to 'note' was denied.", hint="Allow it with ...")

    server = ToolServer([note], before=before)
    assert server.call("note", {"text": "yes"}).content[0].text == "yes"
    refused = server.call("note", {"text": "no"})
    assert refused.is_error and refused.content[0].text == "The call to 'note' was denied.\nAllow it with ..."
    assert seen == [("note", {"text": "yes"}), ("note", {"text": "no"})] and ran == ["yes"]


def test_import_and_help_do_not_import_the_sdk():
    code = ("import contextlib, io, json, sys, nbagents, nbagents.cli\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
            "    nbagents.cli.main(['mcp', 'serve', '--help'])\n"
            "print(json.dumps([out.getvalue(), sorted(m for m in sys.modules if m.split('.')[0] in "
            "('mcp', 'mcp_types', 'uvicorn', 'starlette', 'anyio'))]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={**os.environ, **ENV})
    help_text, loaded = json.loads(done.stdout)
    assert "--tools MODULE[:ATTR]" in help_text and "--http" in help_text
    assert loaded == []
