"""One tool-call path: ``Interpreter.call_tool`` for callers outside a program (plan tasks) and the
program's own calls share arguments, errors, timing and the ``before_tool_call`` hook, in the
kernel and in process isolation."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from nbagents.errors import NbAgentsError, RefusedConstructError, ToolError, ToolExecutionError
from nbagents.interpreter import Handle, Interpreter, Limits, ToolCall, ToolRequest


@pytest.fixture(scope="module", params=["none", "process"])
def interpreter(request):
    interp = Interpreter(isolation=request.param)
    yield interp
    interp.close()


@pytest.fixture(autouse=True)
def no_hook(interpreter):
    interpreter.before_tool_call = None
    yield
    interpreter.before_tool_call = None


def failing(x):
    raise ValueError(f"bad input {x}")


class Opaque:
    pass


class Text(str):
    pass


# --- call_tool ------------------------------------------------------------------------------


def test_call_tool_returns_the_value_and_the_time(interpreter):
    call = interpreter.call_tool("add", lambda a, b=0: a + b, {"a": 2, "b": 3})
    assert isinstance(call, ToolCall)
    assert (call.name, call.value, call.error, call.ok) == ("add", 5, None, True)
    assert call.duration_s >= 0
    assert interpreter.call_tool("add", lambda a, b=0: a + b, args=(4,)).value == 4


def test_call_tool_passes_arguments_as_a_program_would(interpreter):
    seen = {}

    def tool(**kwargs):
        seen.update(kwargs)
        return kwargs["thing"]

    thing, items = Opaque(), [1, [2, 3]]
    call = interpreter.call_tool("tool", tool, {"thing": thing, "text": Text("hi"), "items": items})
    assert call.value is thing  # the result is the tool's own object
    assert seen["thing"] is thing and type(seen["text"]) is str  # plain data in exact types
    assert seen["items"] == items and seen["items"] is not items  # a copy, as a tool result would be
    box = Handle(thing, 1, "opaque")
    assert interpreter.call_tool("tool", tool, {"thing": box}).value is thing  # handles unwrapped


def test_call_tool_failure_has_the_program_message_form(interpreter):
    with pytest.raises(ToolExecutionError) as info:
        interpreter.call_tool("failing", failing, {"x": 3})
    error = info.value
    assert (error.tool, error.detail, error.line) == ("failing", "ValueError: bad input 3", None)
    assert str(error).startswith("The tool 'failing' failed: ValueError: bad input 3")
    assert error.__context__ is None and error.__cause__ is None and error.__traceback__ is not None
    with pytest.raises(ToolExecutionError) as in_program:
        interpreter.run("failing(3)", {"failing": failing})
    assert in_program.value.detail == error.detail and in_program.value.line == 1


def test_long_tool_messages_are_capped_the_same_way_in_both_paths(interpreter):
    def loud():
        raise RuntimeError("x" * 5000)

    with pytest.raises(ToolExecutionError) as outside:
        interpreter.call_tool("loud", loud, {})
    with pytest.raises(ToolExecutionError) as inside:
        interpreter.run("loud()", {"loud": loud})
    assert outside.value.detail == inside.value.detail
    assert outside.value.detail == "RuntimeError: " + "x" * 2000 + "... [3000 more characters]"


def test_call_tool_lets_keyboard_interrupt_through(interpreter):
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interpreter.call_tool("interrupted", interrupted, {})


def test_call_tool_from_parallel_threads(interpreter):
    calls = []
    lock = threading.Lock()

    def hook(request):
        with lock:
            calls.append(request.kwargs["n"])

    def slow_echo(n, payload):
        time.sleep(0.001)
        return n, payload

    interpreter.before_tool_call = hook
    objects = [Opaque() for _ in range(200)]

    def one(n):
        return interpreter.call_tool("slow_echo", slow_echo, {"n": n, "payload": [objects[n], {"k": n}]})

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(200)))
    for n, call in enumerate(results):
        got_n, (obj, data) = call.value
        assert got_n == n and obj is objects[n] and data == {"k": n}
    assert sorted(calls) == list(range(200))


def test_call_tool_needs_no_run_and_works_during_one(interpreter):
    # A program's tool may itself call a tool through the same interpreter (plan-style helpers).
    def outer(x):
        return interpreter.call_tool("inner", lambda y: y * 2, {"y": x}).value

    assert interpreter.run("outer(21)", {"outer": outer}).value == 42


# --- the before_tool_call hook ----------------------------------------------------------------


class Refused(ToolError):
    pass


def test_hook_sees_the_request_in_both_paths(interpreter):
    requests = []
    interpreter.before_tool_call = requests.append
    interpreter.run("x = 1\nadd(x, b=2)", {"add": lambda a, b: a + b})
    interpreter.call_tool("add", lambda a, b: a + b, {"b": 2}, args=(1,))
    assert requests == [ToolRequest("add", (1,), {"b": 2}, 2), ToolRequest("add", (1,), {"b": 2}, None)]
    with pytest.raises(TypeError):
        requests[0].kwargs["b"] = 3  # read-only


def test_hook_vetoes_call_tool(interpreter):
    ran = []
    refusal = Refused("not approved")

    def hook(request):
        raise refusal

    interpreter.before_tool_call = hook
    with pytest.raises(Refused) as info:
        interpreter.call_tool("send", ran.append, {"object": 1})
    assert info.value is refusal and ran == []


def test_hook_vetoes_a_program_call_and_stops_the_run(interpreter):
    ran = []
    refusal = Refused("not approved")

    def hook(request):
        if request.name == "send":
            raise refusal

    tools = {"send": lambda x: ran.append(("send", x)), "log": lambda x: ran.append(("log", x))}
    interpreter.before_tool_call = hook
    code = (
        "log(1)\n"
        "try:\n"
        "    send(2)\n"
        "except Exception:\n"
        "    log('caught')\n"  # a refusal cannot be caught...
        "finally:\n"
        "    log('finally')\n"  # ...and no tool runs after it
        "log(3)"
    )
    with pytest.raises(Refused) as info:
        interpreter.run(code, tools, {})
    assert info.value is refusal
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert ran == [("log", 1)]
    # A function's ``return`` in ``finally`` cannot swallow it either.
    swallow = "def f():\n    try:\n        send(1)\n    finally:\n        return 5\nf()"
    with pytest.raises(Refused):
        interpreter.run(swallow, tools, {})
    assert ran == [("log", 1)]
    # The interpreter (and its child) serve the next run.
    interpreter.before_tool_call = None
    assert interpreter.run("send(4)\n7", tools, {}).value == 7
    assert ran[-1] == ("send", 4)


def test_hook_time_is_not_interpreter_time(interpreter):
    interpreter.before_tool_call = lambda request: time.sleep(1.2)
    fast = Interpreter(limits=Limits(timeout_s=0.6), isolation=interpreter.isolation)
    fast.before_tool_call = interpreter.before_tool_call
    try:
        assert fast.run("echo(1)", {"echo": lambda x: x}).value == 1
    finally:
        fast.close()


def test_tool_durations_are_the_tools_own_time_in_both_paths(interpreter):
    # The hook's time is neither interpreter time nor the tool's: a slow approval is not a slow tool.
    interpreter.before_tool_call = lambda request: time.sleep(0.3)
    execution = interpreter.run("pause(0.05)\npause(0)", {"pause": time.sleep})
    assert [name for name, _ in execution.tool_calls] == ["pause", "pause"]
    (_, first), (_, second) = execution.tool_calls
    assert 0.05 <= first < 0.3 and second < 0.3
    assert 0.05 <= interpreter.call_tool("pause", time.sleep, args=(0.05,)).duration_s < 0.3


def test_passing_a_module_to_a_tool_is_refused_in_both_isolations(interpreter):
    with pytest.raises(RefusedConstructError):
        interpreter.run("import math\necho(math)", {"echo": lambda x: x})
    assert interpreter.run("echo(1)", {"echo": lambda x: x}).value == 1


def test_a_hook_error_that_is_not_ours_also_refuses(interpreter):
    def hook(request):
        raise NbAgentsError("approval service down")

    interpreter.before_tool_call = hook
    with pytest.raises(NbAgentsError, match="approval service down"):
        interpreter.run("echo(1)", {"echo": lambda x: x})
