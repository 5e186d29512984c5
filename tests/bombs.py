"""What the limit and cost suites share: one interpreter per (mode, Limits), and running a
program that must be refused while measuring its stop time and (in the kernel) its memory peak."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from nbagents.errors import LimitExceededError
from nbagents.interpreter import Interpreter


def interpreter_for(interpreters: dict, mode: str, limits) -> Interpreter:
    """The suite's interpreter for ``mode`` ("kernel" or "process") and ``limits``, made once."""
    key = (mode, limits)
    if key not in interpreters:
        interpreters[key] = Interpreter(limits=limits, isolation="none" if mode == "kernel" else "process")
    return interpreters[key]


def refused(interpreter: Interpreter, code: str, mode: str) -> tuple[LimitExceededError, float, int]:
    """Run ``code``, which must raise ``LimitExceededError``; return the error, the seconds it
    took and the tracemalloc peak in bytes (0 in process mode, where the child allocates)."""
    if mode == "kernel":
        tracemalloc.start()
    start = time.monotonic()
    peak = 0
    try:
        with pytest.raises(LimitExceededError) as info:
            interpreter.run(code, {}, {})
    finally:
        elapsed = time.monotonic() - start
        if mode == "kernel":
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    return info.value, elapsed, peak
