"""Resource exhaustion: every attempt stops within the 2 s goal with a clear error, with bounded
memory; in process isolation a runaway child is killed and the kernel stays responsive."""

from __future__ import annotations

import _thread
import threading
import time

import pytest
from bombs import interpreter_for, refused

from nbagents.errors import (
    InterpreterError,
    IsolationError,
    LimitExceededError,
    SandboxRuntimeError,
)
from nbagents.interpreter import Interpreter, Limits

FAST = Limits(timeout_s=0.5)
DEFAULT = Limits()
STOP_GOAL_S = 5.0  # the goal is 2 s; a generous margin for a loaded machine
MEMORY_GOAL_MB = 300

# id: (program, limits, accepted Limits fields)
ATTEMPTS = {
    "while_true_default_limits": ("while True:\n    pass", DEFAULT, {"max_operations", "timeout_s"}),
    "while_true_busy_body": ("x = 0\nwhile True:\n    x = (x + 1) % 7", FAST, {"max_operations", "timeout_s"}),
    "for_over_infinite_iterator": ("import itertools\nfor x in itertools.count():\n    pass", FAST, {"max_operations", "timeout_s"}),
    "any_over_infinite_generator": ("import itertools\nany(x < 0 for x in itertools.count())", FAST, {"max_operations", "timeout_s"}),
    "sum_over_infinite_iterator": ("import itertools\nsum(itertools.repeat(1))", FAST, {"max_operations", "timeout_s"}),
    "sum_of_huge_range": ("sum(range(10 ** 15))", DEFAULT, {"max_sequence_length", "max_operations"}),
    "power_tower": ("10 ** 10 ** 10", DEFAULT, {"max_int_bits"}),
    "pow_builtin": ("pow(10, 10 ** 10)", DEFAULT, {"max_int_bits"}),
    "shift": ("1 << 10 ** 10", DEFAULT, {"max_int_bits"}),
    "int_product": ("x = 7 ** 300000\ny = x * x * x * x", DEFAULT, {"max_int_bits"}),
    "factorial": ("import math\nmath.factorial(10 ** 7)", DEFAULT, {"max_int_bits"}),
    "str_repetition": ("'x' * 10 ** 10", DEFAULT, {"max_sequence_length"}),
    "list_repetition": ("[0] * 10 ** 9", DEFAULT, {"max_sequence_length"}),
    "ljust": ("'x'.ljust(10 ** 10)", DEFAULT, {"max_sequence_length"}),
    "fstring_width": ("f'{1:>10000000000}'", DEFAULT, {"max_sequence_length"}),
    "format_width": ("'{:>10000000000}'.format(1)", DEFAULT, {"max_sequence_length"}),
    "percent_width": ("'%10000000000d' % 1", DEFAULT, {"max_sequence_length"}),
    "bytes_size": ("bytes(10 ** 10)", DEFAULT, {"max_sequence_length"}),
    "range_materialised": ("list(range(10 ** 9))", DEFAULT, {"max_sequence_length"}),
    "doubling_string": ("s = 'x'\nwhile True:\n    s = s + s", DEFAULT, {"max_sequence_length", "max_operations"}),
    "doubling_list_inplace": ("a = [0]\nwhile True:\n    a += a", DEFAULT, {"max_sequence_length", "max_operations"}),
    "doubling_list_extend": ("a = [0]\nwhile True:\n    a.extend(a)", DEFAULT, {"max_sequence_length", "max_operations"}),
    "accumulating_big_strings": ("a = []\nwhile True:\n    a.append('x' * 9_000_000)", DEFAULT, {"max_operations", "timeout_s"}),
    "accumulating_big_lists": ("a = []\nwhile True:\n    a.append([0] * 1_000_000)", DEFAULT, {"max_operations", "timeout_s"}),
    "accumulating_copies": ("x = list(range(10 ** 6))\na = []\nwhile True:\n    a.append(x[:])", DEFAULT, {"max_operations", "timeout_s"}),
    "accumulating_splits": ("s = 'ab ' * 500_000\na = []\nwhile True:\n    a.append(s.split())", DEFAULT, {"max_operations", "timeout_s", "max_sequence_length"}),
    "nested_comprehensions": ("[[i * j for i in range(10 ** 5)] for j in range(10 ** 5)]", FAST, {"max_operations", "timeout_s"}),
    "deep_recursion": ("def f(n):\n    return f(n + 1)\nf(0)", DEFAULT, {"max_call_depth"}),
    "recursion_through_callback": ("def f(x):\n    return sorted([1, 2], key=f)\nf(1)", DEFAULT, {"max_call_depth"}),
    "print_loop_flood": ("while True:\n    print('x' * 1000)", FAST, {"max_operations", "timeout_s"}),
    "exponential_repr": ("x = [1]\nfor i in range(40):\n    x = [x, x]\nprint(x)", FAST, {"max_operations", "timeout_s", "max_sequence_length"}),
    "exponential_json": ("import json\nx = [1]\nfor i in range(40):\n    x = [x, x]\njson.dumps(x)", FAST, {"max_operations", "timeout_s", "max_sequence_length"}),
    "deeply_nested_parentheses": ("(" * 5000 + "1" + ")" * 5000, DEFAULT, {"max_nesting"}),
    "deeply_nested_lists": ("x = " + "[" * 300 + "]" * 300, DEFAULT, {"max_nesting"}),
    "deeply_nested_unary": ("x = " + "-" * 50_000 + "1", DEFAULT, {"max_nesting"}),
    "oversized_source": ("x = 1\n" * 20_000, DEFAULT, {"max_source_chars"}),
    "finally_cannot_swallow_limits": ("while True:\n    try:\n        pass\n    finally:\n        continue", FAST, {"max_operations", "timeout_s"}),
}


@pytest.fixture(scope="module")
def interpreters():
    made = {}
    yield made
    for interpreter in made.values():
        interpreter.close()


@pytest.mark.parametrize("mode", ["kernel", "process"])
@pytest.mark.parametrize("attempt", sorted(ATTEMPTS))
def test_exhaustion_stops_quickly_with_clear_error(attempt, mode, interpreters):
    code, limits, accepted = ATTEMPTS[attempt]
    interpreter = interpreter_for(interpreters, mode, limits)
    error, elapsed, peak = refused(interpreter, code, mode)
    assert elapsed < STOP_GOAL_S
    assert error.limit in accepted
    assert f"Limits({error.limit}=" in str(error)  # says how to raise it
    if mode == "kernel":
        assert peak < MEMORY_GOAL_MB * 1024 * 1024
    # the interpreter (and the kernel) stay responsive
    start = time.monotonic()
    assert interpreter.run("1 + 1", {}, {}).value == 2
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_print_flood_is_truncated(mode, interpreters):
    interpreter = interpreter_for(interpreters, mode, DEFAULT)
    start = time.monotonic()
    execution = interpreter.run("print('x' * 2_000_000)\nprint('after')", {}, {})
    assert time.monotonic() - start < STOP_GOAL_S
    assert len(execution.prints) < DEFAULT.max_print_chars + 200
    assert "output truncated" in execution.prints


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_huge_exception_message_is_capped(mode, interpreters):
    interpreter = interpreter_for(interpreters, mode, DEFAULT)
    with pytest.raises(SandboxRuntimeError) as info:
        interpreter.run("raise ValueError('x' * 10_000_000)", {}, {})
    assert info.value.exc_type == "ValueError"
    assert len(str(info.value)) < 5_000


def test_process_child_is_killed_on_native_hang_and_parent_stays_responsive():
    interpreter = Interpreter(limits=Limits(timeout_s=0.5), isolation="process")
    try:
        interpreter.run("1", {}, {})
        first_child = interpreter._child._proc
        start = time.monotonic()
        with pytest.raises(LimitExceededError) as info:  # catastrophic backtracking runs in C
            interpreter.run("import re\nre.match('(a+)+$', 'a' * 40 + 'b')", {}, {})
        assert time.monotonic() - start < STOP_GOAL_S
        assert info.value.limit == "timeout_s"
        assert first_child.poll() is not None  # killed
        start = time.monotonic()
        assert interpreter.run("2 + 2", {}, {}).value == 4  # a fresh child
        assert time.monotonic() - start < 2.0
    finally:
        interpreter.close()


def test_process_memory_limit():
    limits = Limits(memory_mb=256, max_operations=10**9, timeout_s=5.0)
    interpreter = Interpreter(limits=limits, isolation="process")
    try:
        start = time.monotonic()
        with pytest.raises((LimitExceededError, IsolationError)) as info:
            interpreter.run("a = []\nfor i in range(100):\n    a.append(bytes(9_000_000))", {}, {})
        assert time.monotonic() - start < STOP_GOAL_S
        assert "memory_mb" in str(info.value)
        assert interpreter.run("'alive'", {}, {}).value == "alive"
    finally:
        interpreter.close()


def test_tool_time_does_not_count():
    def slow():
        time.sleep(0.6)
        return 1

    execution = Interpreter(limits=Limits(timeout_s=0.5)).run("slow() + slow()", {"slow": slow}, {})
    assert execution.value == 2
    assert execution.duration_s < 0.5
    assert [round(d, 1) >= 0.5 for _, d in execution.tool_calls] == [True, True]


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_user_interrupt_stops_the_run(mode):
    interpreter = Interpreter(limits=Limits(timeout_s=30, max_operations=10**12), isolation="none" if mode == "kernel" else "process")
    interpreter.run("0", {}, {})  # warm (the child is started)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(InterpreterError) as info:
            interpreter.run("while True:\n    pass", {}, {})
    finally:
        timer.cancel()
        interpreter.close()
    assert "interrupted" in str(info.value)
    assert time.monotonic() - start < STOP_GOAL_S


def test_compilation_is_linear_in_the_program():
    code = "def f(x):\n    return x\ny = " + "f(" * 90 + "1" + ")" * 90 + "\nz = " + "[" * 90 + "1" + "]" * 90
    start = time.monotonic()
    assert Interpreter().run(code + "\ny", {}, {}).value == 1
    assert time.monotonic() - start < 1.0
