"""Calling one tool: the one home of "call a tool", for programs and for callers outside them.

:func:`run_tool` is used by every path that runs a tool: a call inside a program in the kernel
(:func:`.sandbox.call_tool`), a call the isolated child asks the kernel for
(:meth:`.relay.RunRelay.call_tool`), and :meth:`.sandbox.Interpreter.call_tool` for callers
outside any program (plan tasks). It takes host values, asks the ``before_tool_call`` hook
(which may refuse by raising), runs the tool, times it, and turns a tool's exception into a
message-only :class:`~nbagents.errors.ToolExecutionError` (``"The tool 'x' failed: ValueError:
..."``, the message capped at 2,000 characters). ``KeyboardInterrupt`` propagates.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ToolExecutionError

__all__ = ["ToolRequest", "ToolCall", "BeforeToolCall", "run_tool", "clean", "capped", "MESSAGE_CAP"]

MESSAGE_CAP = 2_000


@dataclass(frozen=True)
class ToolRequest:
    """A tool call about to run, as the ``before_tool_call`` hook sees it.

    Parameters
    ----------
    name:
        The tool's name.
    args, kwargs:
        The host values the tool will receive (handles unwrapped); ``kwargs`` is read-only.
    line:
        The program line making the call; ``None`` outside a program.
    """

    name: str
    args: tuple
    kwargs: Mapping[str, Any]
    line: int | None = None


@dataclass(frozen=True)
class ToolCall:
    """One finished tool call: its host ``value`` or its ``error``, and how long the tool ran."""

    name: str
    value: Any = None
    duration_s: float = 0.0
    error: ToolExecutionError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


BeforeToolCall = Callable[[ToolRequest], None]
"""The approval hook: called before a tool runs; raising (an ``NbAgentsError``) refuses the call."""


def run_tool(
    name: str,
    fn: Callable,
    args: tuple,
    kwargs: dict,
    *,
    line: int | None = None,
    before: BeforeToolCall | None = None,
) -> ToolCall:
    """Run ``fn(*args, **kwargs)`` (host values) as the tool ``name``.

    Returns a :class:`ToolCall`; a tool's failure is its ``error``, never raised here. What
    ``before`` raises (a refusal) propagates unchanged and the tool does not run; so does a
    ``KeyboardInterrupt`` from the tool.
    """
    if before is not None:
        before(ToolRequest(name, tuple(args), types.MappingProxyType(kwargs), line))
    error = None
    result = None
    start = time.monotonic()
    try:
        result = fn(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a tool failure becomes a ToolExecutionError
        error = clean(ToolExecutionError(name, f"{type(exc).__name__}: {_message(exc)}", line=line))
    return ToolCall(name, result, time.monotonic() - start, error)


def clean(error: BaseException) -> BaseException:
    """The error without traceback, cause or context (nothing of the sandbox's frames)."""
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    return error.with_traceback(None)


def capped(text: str) -> str:
    """``text`` cut at :data:`MESSAGE_CAP` characters, saying how much was cut."""
    if len(text) > MESSAGE_CAP:
        return text[:MESSAGE_CAP] + f"... [{len(text) - MESSAGE_CAP} more characters]"
    return text


def _message(exc: BaseException) -> str:
    try:
        return capped(str(exc))
    except Exception:  # noqa: BLE001 - a message must never fail
        return "(no message)"
