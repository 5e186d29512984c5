"""MCP tool annotations as approval defaults, against a real server (``tests/mcp_servers.py``
over stdio) and the reference time server: a destructive tool starts as ``ask`` (refused with no
frontend, allowed once approved), a read-only closed-world one as ``allow``, a read-only one
that leaves ``openWorldHint`` to its default (true) as ``ask``, and a tool without annotations
as ``allow``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from mcp.types import ToolAnnotations  # noqa: E402

from nbagents import Agent, ScriptedEngine, mcp_tools  # noqa: E402
from nbagents.approvals import default_policy  # noqa: E402
from nbagents.errors import ApprovalError  # noqa: E402
from nbagents.mcp.convert import approval_hints  # noqa: E402

SERVERS = str(Path(__file__).with_name("mcp_servers.py"))


@pytest.fixture(scope="module")
def tools():
    found = {t.name: t for t in mcp_tools([sys.executable, SERVERS, "stdio"])}
    yield found
    next(iter(found.values())).client.close()


@pytest.fixture(autouse=True)
def _no_frontend(monkeypatch):
    monkeypatch.setenv("NBAGENTS_APPROVAL_PROMPT", "none")


def agent_with(tools) -> Agent:
    return Agent(ScriptedEngine([]), tools=list(tools.values()), add_default_tools=False, repair=False)


@pytest.mark.parametrize(("hints", "expected"), [
    (None, (False, False)),                                    # no annotations: the server said nothing
    ({}, (True, True)),                                        # an empty object: the spec's defaults
    ({"title": "Shredder"}, (True, True)),
    ({"read_only_hint": True}, (False, True)),                 # read-only, but open-world by default
    ({"read_only_hint": True, "destructive_hint": True, "open_world_hint": False}, (False, False)),
    ({"read_only_hint": False, "destructive_hint": False, "open_world_hint": False}, (False, False)),
    ({"destructive_hint": True, "open_world_hint": False}, (True, False)),
    ({"destructive_hint": False}, (False, True)),
])
def test_approval_hints_follow_the_spec_defaults(hints, expected):
    annotations = None if hints is None else ToolAnnotations(**hints)
    assert approval_hints(annotations) == expected


def test_default_policies_from_a_real_servers_annotations(tools):
    shred, peek, look_up, echo = (tools[n] for n in ("shred", "peek", "look_up", "echo"))
    assert shred.annotations == {"read_only_hint": False, "destructive_hint": True, "open_world_hint": False}
    assert (shred.destructive, shred.open_world) == (True, False) and default_policy(shred) == "ask"
    assert (peek.destructive, peek.open_world) == (False, False) and default_policy(peek) == "allow"
    assert (look_up.destructive, look_up.open_world) == (False, True) and default_policy(look_up) == "ask"
    assert echo.annotations == {} and default_policy(echo) == "allow"
    rows = {name: (policy, source) for name, policy, source in agent_with(tools).gate.policies.table(tools)}
    assert rows["shred"] == ("ask", "default") and rows["peek"] == ("allow", "default")


def test_a_destructive_mcp_tool_is_refused_without_a_frontend_then_runs_once_allowed(tools):
    agent = agent_with(tools)
    run = agent.execute('result = shred(name="minutes.txt")')
    assert isinstance(run.exception, ApprovalError) and run.exception.by == "no-frontend"
    message = str(run.error)
    assert "The tool 'shred' needs approval (policy 'ask')" in message and "%agent approve shred allow" in message
    assert run.facts["approvals"] == [{"tool": "shred", "arguments": "name='minutes.txt'", "policy": "ask",
                                       "decision": "denied", "by": "no-frontend"}]

    agent.approve("shred", "allow")
    run = agent.execute('result = shred(name="minutes.txt")')
    assert run.ok, run.error
    assert str(run.result) == "shredded minutes.txt"
    assert run.facts["approvals"][0]["decision"] == "allowed"

    agent.approve("shred", "deny")
    run = agent.execute('result = shred(name="minutes.txt")')
    assert isinstance(run.exception, ApprovalError) and run.exception.by == "policy"


def test_a_read_only_closed_world_tool_runs_without_asking(tools):
    run = agent_with(tools).execute('result = peek(name="minutes.txt")')
    assert run.ok, run.error
    assert str(run.result) == "a look at minutes.txt"
    assert run.facts["approvals"] == [{"tool": "peek", "arguments": "name='minutes.txt'", "policy": "allow",
                                       "decision": "allowed", "by": "policy"}]


def test_the_reference_time_server_is_allowed():
    """``mcp-server-time`` annotates its tools read-only and closed-world."""
    pytest.importorskip("mcp_server_time")
    time_tools = mcp_tools([sys.executable, "-m", "mcp_server_time"])
    try:
        assert {t.name: default_policy(t) for t in time_tools} == {"get_current_time": "allow",
                                                                   "convert_time": "allow"}
    finally:
        time_tools[0].client.close()


def test_the_reference_git_server_asks_only_for_its_destructive_tool(tmp_path):
    """``mcp-server-git`` marks its reads read-only, its writes closed-world and ``git_reset``
    destructive: only that one starts as ``ask``."""
    pytest.importorskip("mcp_server_git")
    import subprocess

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git_tools = mcp_tools([sys.executable, "-m", "mcp_server_git", "--repository", str(repo)])
    try:
        policies = {t.name: default_policy(t) for t in git_tools}
    finally:
        git_tools[0].client.close()
    assert policies["git_reset"] == "ask"
    assert policies["git_status"] == policies["git_log"] == policies["git_add"] == "allow"
    assert [name for name, policy in policies.items() if policy == "ask"] == ["git_reset"]
