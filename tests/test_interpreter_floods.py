"""Crashes and floods: values nested deeper than ``max_nesting`` wherever they cross, the
tool-call budget (``max_tool_calls``) and the wall-clock deadline (``wall_timeout_s``) — each in
both isolation modes, with tools from a module and from an IPython user namespace."""

from __future__ import annotations

import time

import pytest
from crossing_fixtures import MODES, SOURCES, calls, isolation, make_shell, received, tools_from

from nbagents import Agent, ScriptedEngine, tool
from nbagents.errors import LimitExceededError
from nbagents.interpreter import Interpreter, Limits

DEEP = "x = []\nfor i in range(100000):\n    x = [x]\n"

# (case, program, state): every way a deep value can cross or be turned into text
DEEP_CASES = {
    "result": (DEEP + "x", None),
    "tool_result": ("deep(100000)", None),
    "tool_result_kept": ("y = deep(100000)\n1", None),
    "tool_argument": (DEEP + "echo(x)", None),
    "tool_keyword": (DEEP + "echo(value={'k': x})", None),
    "print": (DEEP + "print(x)", None),
    "str": (DEEP + "s = str(x)", None),
    "fstring": (DEEP + "s = f'{x!r}'", None),
    "exception_chain": ("e = 1\nfor i in range(100000):\n    e = ValueError(e)\nprint(e)", None),
    "exception_repr": ("e = 1\nfor i in range(100000):\n    e = ValueError(e, 1)\nrepr(e)", None),
    "input": ("1", "deep"),
    "variable_450": ("x = []\nfor i in range(450):\n    x = [x]\ny = x\n1", None),
}


@pytest.fixture(scope="module")
def shell():
    return make_shell()


@pytest.fixture(scope="module")
def interpreters():
    made = {
        "kernel": Interpreter(limits=Limits(timeout_s=3.0)),
        "process": Interpreter(limits=Limits(timeout_s=3.0), isolation="process"),
    }
    yield made
    made["process"].close()


def _assert_clean_limit(error: LimitExceededError, limit: str) -> None:
    assert error.limit == limit
    text = f"{error.message}\n{error.hint}"
    assert f"Limits({limit}=...)" in text
    assert "Traceback" not in text and 'File "' not in text and "/nbagents/" not in text and ".py" not in text


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(DEEP_CASES))
def test_deep_value_ends_as_max_nesting_error(case, mode, source, interpreters, shell):
    code, state_kind = DEEP_CASES[case]
    tools = tools_from(source, shell)
    before = len(received(tools))
    state = {"given": tools["deep"](100000)} if state_kind == "deep" else {}
    if case == "variable_450" and mode == "kernel":  # no crossing in the kernel: the variable stays
        interpreters[mode].run(code, tools, state)
        assert interpreters[mode].run("len(y)", tools, state).value == 1
        state["y"] = list(state["y"])  # given again (not the run's own): an input, checked
    with pytest.raises(LimitExceededError) as caught:
        interpreters[mode].run(code, tools, state)
    _assert_clean_limit(caught.value, "max_nesting")
    assert len(received(tools)) == before  # a deep argument never reached the tool
    assert interpreters[mode].run("1 + 1", tools, {}).value == 2  # the interpreter lives on


@pytest.mark.parametrize("mode", MODES)
def test_values_within_max_nesting_cross_unchanged(mode, interpreters, shell):
    tools = tools_from("module", shell)
    made = tools["deep"](90)
    execution = interpreters[mode].run("y = deep(90)\necho(y)\nprint(len(str(y)))\n[y, given]", tools, {"given": made})
    assert execution.value == [made, made]
    assert received(tools)[-1] == ((made,), {})
    assert execution.prints == f"{len(str(made))}\n"


@pytest.mark.parametrize("mode", MODES)
def test_raising_max_nesting_lets_a_deeper_value_through(mode):
    interpreter = Interpreter(limits=Limits(max_nesting=400), isolation=isolation(mode))
    try:
        value = interpreter.run("x = []\nfor i in range(300):\n    x = [x]\nx", {}, {}).value
    finally:
        interpreter.close()
    depth = 0
    while value:
        value, depth = value[0], depth + 1
    assert depth == 300


@pytest.mark.parametrize("mode", MODES)
def test_shared_sublists_that_would_explode_are_refused(mode, interpreters):
    code = "x = [1]\nfor i in range(60):\n    x = [x, x]\nx"
    started = time.monotonic()
    with pytest.raises(LimitExceededError) as caught:
        interpreters[mode].run(code, {}, {})
    assert time.monotonic() - started < 30  # generous: never the hours a native repr would take
    _assert_clean_limit(caught.value, "max_sequence_length")


@tool
def nested(depth: int) -> list:
    """Return a list nested `depth` deep."""
    x: list = []
    for _ in range(depth):
        x = [x]
    return x


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [DEEP + "x", "nested(depth=100000)", DEEP + "print(x)"])
def test_agent_execute_records_the_typed_error(mode, code):
    agent = Agent(ScriptedEngine([]), tools=[nested], add_default_tools=False, isolation=mode == "process" and "process" or "none")
    try:
        run = agent.execute(code)
        assert isinstance(run.exception, LimitExceededError) and run.error.type == "LimitExceededError"
        assert "max_nesting" in run.error.message and run.result is None
        assert "max_nesting" in run.to_json() and repr(run)
        given = agent.execute("len(given)", given=nested(100000))
        assert isinstance(given.exception, LimitExceededError) and "'given'" in given.error.message
    finally:
        agent.interpreter.close()


def test_agent_run_raises_the_typed_error_from_a_model_program():
    agent = Agent(ScriptedEngine([f"Here.\n```py\n{DEEP}x\n```"]), tools=[nested], add_default_tools=False, repair=False)
    with pytest.raises(LimitExceededError):
        agent.run("Build a deep list")
    assert agent.last_run.error.type == "LimitExceededError"


def test_a_run_summary_never_fails_on_its_result():
    from nbagents.runs import Run

    deep = nested(100000)
    loop: list = []
    loop.append(loop)
    for result in (10**5000, deep, loop):
        run = Run(result=result)
        assert len(run.result_summary()) <= 501 and run.to_json() and repr(run)


# --- the tool-call budget --------------------------------------------------------------------

BUDGET_CASES = {
    "while_loop": "while True:\n    count(1)",
    "for_loop": "for i in range(10 ** 6):\n    count(i)",
    "sorted_key": "sorted(list(range(1000)), key=count)",
    "map": "list(map(count, range(1000)))",
    "comprehension": "[count(i) for i in range(1000)]",
    "swallowed": "n = 0\nwhile True:\n    try:\n        count(1)\n    except Exception:\n        n += 1",
    "min_key": "min(range(1000), key=count)",
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(BUDGET_CASES))
def test_tool_calls_stop_at_max_tool_calls(case, mode, source, shell):
    tools = tools_from(source, shell)
    interpreter = Interpreter(limits=Limits(max_tool_calls=7), isolation=isolation(mode))
    counter = calls(tools)
    try:
        before = counter[0]
        with pytest.raises(LimitExceededError) as caught:
            interpreter.run(BUDGET_CASES[case], tools, {})
        assert counter[0] - before == 7  # exactly the budget ran
        _assert_clean_limit(caught.value, "max_tool_calls")
        assert "7 tool calls" in caught.value.message and "'count'" in caught.value.message
        assert interpreter.run("count(1)", tools, {}).value == 1  # the next run has a fresh budget
    finally:
        interpreter.close()


@pytest.mark.parametrize("mode", MODES)
def test_raising_max_tool_calls_lets_a_long_loop_run(mode, shell):
    tools = tools_from("module", shell)
    interpreter = Interpreter(limits=Limits(max_tool_calls=300), isolation=isolation(mode))
    try:
        execution = interpreter.run("[count(i) for i in range(250)][-1]", tools, {})
    finally:
        interpreter.close()
    assert execution.value == 249 and len(execution.tool_calls) == 250


def test_limits_default_budget_and_deadline():
    limits = Limits()
    assert limits.max_tool_calls == 100 and limits.wall_timeout_s == 300.0 and limits.timeout_s == 2.0


# --- the wall-clock deadline -----------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", MODES)
def test_slow_tools_stop_at_the_wall_deadline(mode, source, shell):
    tools = tools_from(source, shell)
    interpreter = Interpreter(limits=Limits(wall_timeout_s=1.0), isolation=isolation(mode))
    try:
        interpreter.run("1", tools, {})  # a warm child: its start is not the run's time
        started = time.monotonic()
        with pytest.raises(LimitExceededError) as caught:
            interpreter.run("for i in range(100):\n    nap(0.2)", tools, {})
        elapsed = time.monotonic() - started
        _assert_clean_limit(caught.value, "wall_timeout_s")
        assert "in tools" in caught.value.message
        assert elapsed < 15  # generous: 1 s plus one nap, on a loaded machine
        assert interpreter.run("2", tools, {}).value == 2
    finally:
        interpreter.close()


@pytest.mark.parametrize("mode", MODES)
def test_the_wall_deadline_holds_while_the_interpreter_runs(mode, shell):
    tools = tools_from("module", shell)
    limits = Limits(wall_timeout_s=1.0, timeout_s=20.0, max_operations=10**10)
    interpreter = Interpreter(limits=limits, isolation=isolation(mode))
    try:
        interpreter.run("1", tools, {})
        started = time.monotonic()
        with pytest.raises(LimitExceededError) as caught:
            interpreter.run("nap(0.6)\nwhile True:\n    pass", tools, {})
        assert caught.value.limit == "wall_timeout_s"  # not timeout_s: the interpreter had 20 s (and the steps)
        assert time.monotonic() - started < 15
    finally:
        interpreter.close()


@pytest.mark.parametrize("mode", MODES)
def test_one_slow_tool_call_past_the_deadline_ends_the_run(mode, shell):
    tools = tools_from("module", shell)
    interpreter = Interpreter(limits=Limits(wall_timeout_s=0.5), isolation=isolation(mode))
    try:
        interpreter.run("1", tools, {})
        with pytest.raises(LimitExceededError) as caught:
            interpreter.run("nap(1.0)\necho('after')", tools, {})
        assert caught.value.limit == "wall_timeout_s"
        assert not any(args == ("after",) for args, _ in received(tools))  # nothing ran after it
    finally:
        interpreter.close()


def test_call_tool_outside_a_program_refuses_a_deep_result(shell):
    """The path of plan tasks: the tool's result goes straight into the Run."""
    tools = tools_from("module", shell)
    interpreter = Interpreter()
    with pytest.raises(LimitExceededError) as caught:
        interpreter.call_tool("deep", tools["deep"], {"n": 100000})
    _assert_clean_limit(caught.value, "max_nesting")
    assert interpreter.call_tool("deep", tools["deep"], {"n": 3}).value == [[[[]]]]
