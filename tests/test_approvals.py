"""Approvals: the policy of each tool (allow / ask / deny) applied by one gate before every tool call,
in both isolations, plan and ReAct mode; the three ways an ``ask`` is answered (the notebook widget,
the terminal prompt, nobody: refused); the decisions in the Run and the inspector; ``%agent approve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell

from nbagents import Agent, ScriptedEngine, tool
from nbagents.approvals import Decision, Gate, Policies, default_policy
from nbagents.approvals.console import parse_answer
from nbagents.approvals.policy import NoAnswer, Question
from nbagents.approvals.widget import ApprovalPrompt, ask_in_notebook
from nbagents.errors import ApprovalError, ConfigurationError
from nbagents.inspector import render_run_html
from nbagents.runs import Run

ROOT = Path(__file__).resolve().parent.parent
WIPED: list[str] = []


@tool
def wipe(path: str) -> str:
    """Delete the file at `path`."""
    WIPED.append(path)
    return f"wiped {path}"


@tool
def count(text: str) -> int:
    """Count the words of `text`."""
    return len(text.split())


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    WIPED.clear()
    monkeypatch.delenv("NBAGENTS_APPROVAL_PROMPT", raising=False)
    yield
    WIPED.clear()


def program(code: str) -> str:
    return f"I will do it.\n```py\n{code}\n```"


def agent_for(*replies, isolation="none", **kwargs) -> Agent:
    return Agent(ScriptedEngine(replies), tools=[wipe, count], add_default_tools=False, isolation=isolation,
                 repair=False, **kwargs)


class Answers:
    """A prompter that answers from a list and records the questions."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.questions: list[Question] = []

    def __call__(self, question: Question) -> str:
        self.questions.append(question)
        return self.answers.pop(0)


# --- the policy table -------------------------------------------------------------------------


def test_default_policy_follows_the_tool_hints():
    assert default_policy(count) == "allow"
    assert default_policy(None) == "allow"

    class Hinted:
        destructive = True

    assert default_policy(Hinted()) == "ask"
    count.open_world = True
    try:
        assert default_policy(count) == "ask"
    finally:
        count.open_world = False


def test_policies_reject_unknown_values():
    with pytest.raises(ConfigurationError, match="'allow', 'ask' or 'deny'"):
        Policies({"wipe": "maybe"})
    with pytest.raises(ConfigurationError):
        Agent(ScriptedEngine(), add_default_tools=False, approvals={"wipe": "yes"})
    p = Policies({"wipe": "deny"})
    assert p.policy_of("wipe", wipe) == "deny" and p.policy_of("count", count) == "allow"
    assert ("ghost", "ask", "set (no such tool yet)") in Policies({"ghost": "ask"}).table({})


# --- allow / deny / ask in both isolations -----------------------------------------------------


@pytest.mark.parametrize("isolation", ["none", "process"])
def test_deny_never_runs_the_tool(isolation):
    agent = agent_for(program("result = wipe(path='notes.txt')"), isolation=isolation, approvals={"wipe": "deny"})
    try:
        run = agent.perform("Delete notes.txt")
    finally:
        agent.interpreter.close()
    assert WIPED == []
    assert isinstance(run.exception, ApprovalError) and run.error.stage == "tool"
    assert "%agent approve wipe allow" in str(run.error)
    assert run.facts["approvals"] == [{"tool": "wipe", "arguments": "path='notes.txt'", "policy": "deny",
                                       "decision": "denied", "by": "policy"}]


@pytest.mark.parametrize("isolation", ["none", "process"])
def test_allow_and_ask_answered_once(isolation):
    agent = agent_for(program("a = count(text='a b c')\nresult = wipe(path='x')"), isolation=isolation,
                      approvals={"wipe": "ask"})
    agent.gate.prompter = answers = Answers("once")
    try:
        run = agent.perform("Count, then delete x")
    finally:
        agent.interpreter.close()
    assert run.ok, run.error
    assert str(run.result) == "wiped x" and WIPED == ["x"]
    assert [q.tool for q in answers.questions] == ["wipe"] and answers.questions[0].arguments == "path='x'"
    assert [(d["tool"], d["decision"], d["by"]) for d in run.facts["approvals"]] == [
        ("count", "allowed", "policy"), ("wipe", "allowed", "user")]
    assert agent.gate.policies.policy_of("wipe") == "ask"  # once: asked again next time


@pytest.mark.parametrize("isolation", ["none", "process"])
def test_ask_answered_deny_stops_the_program(isolation):
    agent = agent_for(program("try:\n    r = wipe(path='x')\nexcept Exception:\n    r = 'caught'\nresult = r"),
                      isolation=isolation, approvals={"wipe": "ask"})
    agent.gate.prompter = Answers("deny")
    try:
        run = agent.perform("Delete x")
    finally:
        agent.interpreter.close()
    assert WIPED == [] and isinstance(run.exception, ApprovalError)  # the program's except cannot catch it
    assert run.exception.by == "user"
    assert run.facts["approvals"][-1]["decision"] == "denied"


def test_always_sets_the_policy_and_is_not_asked_again():
    agent = agent_for(program("wipe(path='a')\nresult = wipe(path='b')"), approvals={"wipe": "ask"})
    agent.gate.prompter = answers = Answers("always")
    run = agent.perform("Delete a and b")
    assert run.ok and WIPED == ["a", "b"] and len(answers.questions) == 1
    assert agent.gate.policies.policy_of("wipe") == "allow"
    assert [d["by"] for d in run.facts["approvals"]] == ["user", "policy"]


def test_a_destructive_tool_is_asked_by_default_and_refused_without_a_frontend(monkeypatch):
    monkeypatch.setenv("NBAGENTS_APPROVAL_PROMPT", "none")
    monkeypatch.setattr(wipe, "destructive", True, raising=False)
    agent = agent_for(program("result = wipe(path='x')"))
    run = agent.perform("Delete x")
    assert WIPED == []
    err = run.exception
    assert isinstance(err, ApprovalError) and err.by == "no-frontend"
    assert "Agent(approvals={'wipe': 'allow'})" in err.message and "%agent approve wipe allow" in err.message
    assert run.facts["approvals"][0]["by"] == "no-frontend"


def test_the_secrets_in_arguments_are_redacted(monkeypatch):
    from nbagents.redaction import register_secret

    register_secret("sk-abcdefghijklmnop1234")
    agent = agent_for(program("result = wipe(path='sk-abcdefghijklmnop1234')"), approvals={"wipe": "ask"})
    agent.gate.prompter = answers = Answers("deny")
    run = agent.perform("Delete it")
    assert "sk-abcdefghijklmnop1234" not in answers.questions[0].arguments
    assert "sk-abcdefghijklmnop1234" not in run.to_json()


# --- plan and ReAct go through the same gate ---------------------------------------------------


def test_plan_tasks_pass_the_gate():
    plan = json.dumps([{"task": "count", "id": 0, "dep": [-1], "args": {"text": "a b"}},
                       {"task": "wipe", "id": 1, "dep": [-1], "args": {"path": "x"}}])
    agent = Agent(ScriptedEngine([plan, "done"]), tools=[wipe, count], add_default_tools=False, mode="plan",
                  approvals={"wipe": "deny"})
    run = agent.perform("Count and delete")
    assert WIPED == []
    assert run.error is not None and "denied by its approval policy" in run.error.message
    assert sorted((d["tool"], d["decision"]) for d in run.facts["approvals"]) == [
        ("count", "allowed"), ("wipe", "denied")]


def test_plan_ask_allowed():
    plan = json.dumps([{"task": "wipe", "id": 0, "dep": [-1], "args": {"path": "y"}}])
    agent = Agent(ScriptedEngine([plan, "done"]), tools=[wipe], add_default_tools=False, mode="plan",
                  approvals={"wipe": "ask"})
    agent.gate.prompter = Answers("once")
    run = agent.perform("Delete y")
    assert run.ok, run.error
    assert WIPED == ["y"] and run.facts["approvals"][0]["by"] == "user"


def test_react_denial_ends_the_run():
    step = "Thought: delete it.\n```py\nr = wipe(path='z')\n```"
    agent = Agent(ScriptedEngine([step, step]), tools=[wipe], add_default_tools=False, mode="react",
                  approvals={"wipe": "deny"})
    run = agent.perform("Delete z")
    assert WIPED == [] and isinstance(run.exception, ApprovalError)
    assert len(run.steps) == 0 or run.steps[-1].error is None
    assert run.facts["approvals"][0]["decision"] == "denied"


def test_react_ask_allowed():
    agent = Agent(ScriptedEngine(["Thought: delete.\n```py\nfinal_answer(answer=wipe(path='z'))\n```"]),
                  tools=[wipe], add_default_tools=False, mode="react", approvals={"wipe": "ask"})
    agent.gate.prompter = Answers("once")
    assert agent.run("Delete z") == "wiped z" and WIPED == ["z"]


def test_call_tool_outside_a_program_passes_the_gate():
    agent = agent_for(approvals={"wipe": "deny"})
    with pytest.raises(ApprovalError):
        agent.interpreter.call_tool("wipe", wipe, {"path": "q"})
    assert WIPED == []


# --- the Run and the inspector -------------------------------------------------------------------


def test_decisions_survive_serialisation_and_show_in_the_inspector():
    agent = agent_for(program("result = wipe(path='x')"), approvals={"wipe": "deny"})
    run = agent.perform("Delete x")
    again = Run.from_dict(json.loads(run.to_json()))
    assert again.facts["approvals"] == run.facts["approvals"]
    page = render_run_html(again)
    assert "Approvals" in page and "<td>wipe</td>" in page and "<td>denied</td>" in page
    assert Decision("t", "", "ask", "allowed", "user").to_dict()["by"] == "user"


# --- the widget ------------------------------------------------------------------------------------


@pytest.mark.parametrize("button, answer", [("once", "once"), ("always", "always"), ("deny", "deny")])
def test_widget_buttons_set_the_answer(button, answer):
    prompt = ApprovalPrompt(Question("wipe", "path='<b>x</b>'", "Delete the file."))
    assert "<b>x</b>" not in prompt.label.value and "&lt;b&gt;" in prompt.label.value  # escaped
    assert prompt.box._view_count == 0 and not prompt.answered.is_set()
    prompt.buttons[button].click()
    assert prompt.answered.is_set() and prompt.answer == answer
    assert all(b.disabled for b in prompt.buttons.values())
    prompt.buttons["deny"].click()  # a second click changes nothing
    assert prompt.answer == answer
    prompt.close()


def test_widget_view_count_is_the_handshake():
    prompt = ApprovalPrompt(Question("wipe", "path='x'"))
    prompt.box._view_count = 1  # what a live frontend sends back when it renders the box
    assert prompt.seen.is_set()
    prompt.close()


def test_widget_outside_a_kernel_cannot_answer():
    with pytest.raises(NoAnswer, match="not in a Jupyter kernel"):
        ask_in_notebook(Question("wipe", ""))


def test_gate_turns_no_answer_into_the_refusal():
    def nobody(question):
        raise NoAnswer("no frontend showed it")

    gate = Gate(Policies({"wipe": "ask"}), lambda name: None, nobody)

    class Request:
        name, args, kwargs = "wipe", (), {"path": "x"}

    with pytest.raises(ApprovalError, match="no frontend showed it"):
        gate(Request())
    assert gate.take()[0].by == "no-frontend" and gate.take() == ()


def test_no_frontend_in_a_real_kernel_refuses_with_the_way_to_allow(tmp_path):
    from nbclient import NotebookClient

    setup = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
             "from nbagents import Agent, ScriptedEngine, tool\n"
             "done = []\n"
             "@tool\ndef wipe(path: str) -> str:\n    '''Delete `path`.'''\n    done.append(path)\n    return 'gone'\n")
    run_cell = ("agent = Agent(ScriptedEngine([\"Ok.\\n```py\\nresult = wipe(path='x')\\n```\"]), tools=[wipe],\n"
                "              add_default_tools=False, approvals={'wipe': 'ask'})\n"
                "run = agent.perform('Delete x')\n"
                "print(run.error)\nprint('ran:', done)\nprint(run.facts['approvals'][0]['by'])")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup), nbformat.v4.new_code_cell(run_cell)])
    env = {"NBAGENTS_APPROVAL_HANDSHAKE_S": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.output_type == "stream")
    assert "needs approval (policy 'ask') and nothing here can answer" in text, text
    assert "Allow it with Agent(approvals={'wipe': 'allow'}) or %agent approve wipe allow" in text
    assert "ran: []" in text and "no-frontend" in text


# --- the terminal -----------------------------------------------------------------------------------


def test_parse_answer():
    assert [parse_answer(x) for x in ("y", "A", " always ", "", "no", "what")] == [
        "once", "always", "always", "deny", "deny", None]


def _cli(tmp_path, *args, stdin="", env=None):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["Ok.\n```py\nresult = word_count(text='a b c')\n```"]))
    return subprocess.run([sys.executable, "-m", "nbagents.cli", "run", "Count", "--engine", f"fake:{replies}",
                           *args], input=stdin, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_cli_without_a_terminal_refuses(tmp_path):
    out = _cli(tmp_path, "--approve", "word_count=ask", stdin="y\n")
    assert out.returncode == 1
    assert "nothing here can answer" in out.stderr and "%agent approve word_count allow" in out.stderr


def test_cli_prompt_answered_on_stdin(tmp_path):
    out = _cli(tmp_path, "--approve", "word_count=ask", stdin="y\n", env={"NBAGENTS_APPROVAL_PROMPT": "console"})
    assert out.returncode == 0, out.stderr
    assert "wants to call word_count(text='a b c')" in out.stderr and out.stdout.strip() == "3"
    out = _cli(tmp_path, "--approve", "word_count=ask", stdin="n\n", env={"NBAGENTS_APPROVAL_PROMPT": "console"})
    assert out.returncode == 1 and "was denied" in out.stderr


def test_cli_prompt_on_a_pseudo_terminal(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["Ok.\n```py\nresult = word_count(text='a b')\n```"]))
    child = pexpect.spawn(sys.executable, ["-m", "nbagents.cli", "run", "Count", "--engine", f"fake:{replies}",
                                           "--approve", "word_count=ask"],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, encoding="utf-8", timeout=120)
    try:
        child.expect(r"\[y\] once, \[a\] always, \[N\] deny: ")
        child.sendline("a")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0 and "2" in child.before.splitlines()[-1]


def test_cli_rejects_a_bad_policy(tmp_path):
    out = _cli(tmp_path, "--approve", "word_count=sometimes")
    assert out.returncode == 2 and "--approve takes tool=allow|ask|deny" in out.stderr


# --- %agent approve ---------------------------------------------------------------------------------


@pytest.fixture
def shell():
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("nbagents")
    magics = ip.magics_manager.registry["AgentMagics"]
    magics.reset()
    yield ip
    magics.reset()


def test_magic_approve_sets_and_lists(shell):
    from IPython.core.error import UsageError

    agent = shell.magics_manager.registry["AgentMagics"].agent
    shell.run_line_magic("agent", "approve word_count deny")
    assert agent.gate.policies.policy_of("word_count") == "deny"
    shell.run_line_magic("agent", "approve lookup ask")  # a tool that is not there (yet)
    rows = {line.split()[0]: line.split()[1:] for line in shell.run_line_magic("agent", "approve").plain.splitlines()[2:]}
    assert rows["word_count"] == ["deny", "set"] and rows["lookup"][:2] == ["ask", "set"]
    assert rows["image_size"] == ["allow", "default"]
    with pytest.raises(UsageError, match="needs a policy"):
        shell.run_line_magic("agent", "approve word_count")
    with pytest.raises(UsageError, match="'allow', 'ask' or 'deny'"):
        shell.run_line_magic("agent", "approve word_count sometimes")


# --- the widget in a real kernel, answered by a client that speaks the widget protocol -------------


_REPLIES = {"code": "Ok.\n```py\nresult = wipe(path='x')\n```",
            "plan": json.dumps([{"task": "wipe", "id": 0, "dep": [-1], "args": {"path": "x"}}])}


@pytest.fixture(scope="module")
def kernel():
    """One real kernel for the widget tests (stopped at the end of the module)."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        kc.execute_interactive(
            "from nbagents import Agent, ScriptedEngine, tool\n"
            "@tool\ndef wipe(path: str) -> str:\n    '''Delete `path`.'''\n    done.append(path)\n    return 'gone'\n",
            timeout=60)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _frontend_answers(kc, button_label: str, mode: str = "code") -> str:
    """Run an ``ask`` in the kernel while this client plays the frontend: it renders the prompt
    (sends ``_view_count = 1``) and clicks ``button_label``, with the comm messages JupyterLab sends;
    returns what the cell printed."""
    from queue import Empty

    cell = kc.execute(
        "import os; os.environ['NBAGENTS_APPROVAL_HANDSHAKE_S'] = '30'; os.environ['NBAGENTS_APPROVAL_TIMEOUT_S'] = '1'\n"
        "done = []\n"
        f"reply = {_REPLIES[mode]!r}\n"
        f"agent = Agent(ScriptedEngine([reply, 'done']), tools=[wipe], mode={mode!r},\n"
        "              add_default_tools=False, approvals={'wipe': 'ask'})\n"
        "run = agent.perform('Delete x')\n"
        "d = run.facts['approvals'][0]\nprint('decision:', d['decision'], d['by'], 'ran:', done)\n"
        "print(run.error)")
    buttons: dict[str, str] = {}
    box = ""
    printed = []
    for _ in range(2000):  # message by message until the cell is done; a bound, not a timing
        try:
            msg = kc.get_iopub_msg(timeout=60)
        except Empty:
            break
        if msg["parent_header"].get("msg_id") != cell:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            state = content["data"]["state"]
            if state.get("_model_name") == "ButtonModel":
                buttons[state["description"]] = content["comm_id"]
            if state.get("_view_count") == 0:
                box = content["comm_id"]
        elif kind == "display_data":  # a frontend renders the box and says so, then the user clicks
            kc.shell_channel.send(kc.session.msg("comm_msg", {
                "comm_id": box, "data": {"method": "update", "state": {"_view_count": 1}, "buffer_paths": []}}))
            if button_label in buttons:
                kc.shell_channel.send(kc.session.msg("comm_msg", {
                    "comm_id": buttons[button_label],
                    "data": {"method": "custom", "content": {"event": "click"}}}))
        elif kind == "stream":
            printed.append(content["text"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    return "".join(printed)


@pytest.mark.parametrize("label, expected", [
    ("Allow once", "decision: allowed user ran: ['x']"),
    ("Deny", "decision: denied user ran: []"),
    ("", "(nobody answered within 1 s)"),  # rendered (the handshake passed), never clicked: refused
])
def test_widget_click_reaches_the_busy_kernel(kernel, label, expected):
    assert expected in _frontend_answers(kernel, label)


def test_widget_asked_from_a_plan_worker_thread_shows_in_the_cell(kernel):
    assert "decision: allowed user ran: ['x']" in _frontend_answers(kernel, "Allow once", mode="plan")
