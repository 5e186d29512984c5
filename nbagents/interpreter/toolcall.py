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

from ..errors import RefusedConstructError, ToolExecutionError
from .limits import limit_error
from .tablefacts import table_facts
from .values import COLLECTIONS, CONTAINERS, DATES, SCALARS, Handle, elements, flat_size, type_name

__all__ = [
    "ToolRequest", "ToolCall", "BeforeToolCall", "run_tool", "check_arguments", "check_tables", "clean", "capped",
    "MESSAGE_CAP",
]

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


# --- what may cross to a tool -----------------------------------------------------------------

_LEAVES = SCALARS | DATES | {range, Handle}
_WALKED = CONTAINERS | COLLECTIONS
_ARGUMENT_HINT = (
    "Tools take plain data (numbers, strings, bytes, dates, lists, tuples, dicts, sets) and "
    "handles, at any depth: call a function and pass its result, pass list(...) of an iterator, "
    "pass str(e) for an exception."
)


def check_arguments(args, kwargs, *, max_depth: int, line: int | None = None, tool: str = "") -> None:
    """Refuse tool arguments that are not plain data, recursively: anything but plain data of
    exact builtin types, dates, ranges and handles anywhere inside an argument (a sandbox
    function, an iterator, a module, an exception and what its arguments hold...) raises a
    :class:`RefusedConstructError` naming the argument and the path inside it; a value that
    contains itself is refused too, and one nested more than ``max_depth`` deep raises a
    ``LimitExceededError`` naming ``max_nesting``. Iterative and linear in the distinct
    containers (a shared sub-list is checked once)."""
    of = f" of the tool {tool!r}" if tool else ""
    named = [(f"argument {i + 1}{of}", a) for i, a in enumerate(args)]
    named += [(f"argument {k!r}{of}", v) for k, v in kwargs.items()]
    for where, value in named:
        _check_argument(value, where, max_depth, line)


def _check_argument(value, where: str, max_depth: int, line: int | None) -> None:
    t = type(value)
    if t in _LEAVES or flat_size(value) is not None:  # scalars, or a container of scalars only
        return
    if t not in _WALKED:
        raise _refused(value, where, (), line)
    checked = set()
    active = {id(value)}
    keep = [value]
    # each entry: container, iterator over (step, element), path of steps to it
    stack = [(value, _steps(value), ())]
    while stack:
        obj, steps, path = stack[-1]
        for step, child in steps:
            t = type(child)
            if t in _LEAVES:
                continue
            if t not in _WALKED:
                raise _refused(child, where, (*path, step), line)
            key = id(child)
            if key in active:
                raise RefusedConstructError(
                    f"passing a value that contains itself ({where}{_path((*path, step))})",
                    line=line, hint=_ARGUMENT_HINT,
                )
            if key in checked:
                continue
            if len(stack) >= max_depth:
                raise limit_error("max_nesting", f"{where} is nested more than {max_depth} deep", line)
            keep.append(child)
            active.add(key)
            stack.append((child, _steps(child), (*path, step)))
            break
        else:
            stack.pop()
            active.discard(id(obj))
            checked.add(id(obj))


def _steps(obj):
    """(step, element) pairs: ``[i]`` of sequences, ``[key]`` and ``key`` of mappings."""
    if isinstance(obj, dict):
        for k, v in list(dict.items(obj)):
            yield ("key", k), k
            yield ("item", k), v
    elif type(obj) in (set, frozenset):
        for v in list(obj):
            yield ("member", None), v
    else:
        for i, v in enumerate(list(obj)):
            yield ("item", i), v


def _path(path) -> str:
    if not path:
        return ""
    text = ""
    for kind, where in path:
        shown = repr(where) if type(where) in (int, str) and len(repr(where)) <= 40 else "..."
        if kind == "item":
            text += f"[{shown}]"
        elif kind == "key":
            text += f" (the key {shown})"
        else:
            text += " (an element of a set)"
    return ", at " + text.lstrip()


def _refused(obj, where: str, path, line: int | None) -> RefusedConstructError:
    return RefusedConstructError(
        f"passing a {type_name(obj)} ({where}{_path(path)})", line=line, hint=_ARGUMENT_HINT
    )


# --- tables a tool returns --------------------------------------------------------------------


def check_tables(value, max_cells: int, *, what: str, line: int | None = None) -> None:
    """Refuse a tool result that is, or holds (in plain containers, at any depth), a table of
    more than ``max_cells`` cells (rows × columns): a ``LimitExceededError`` naming
    ``max_table_cells``, the table's rows and columns and the limit. ``value`` is a sandbox
    value (table handles know their facts) or a host value. Costs nothing for a result of
    scalars or a container of scalars; iterative, each container visited once."""
    t = type(value)
    if t in SCALARS or flat_size(value) is not None:
        return
    seen: set[int] = set()
    keep = [value]
    stack = [value]
    while stack:
        obj = stack.pop()
        t = type(obj)
        if t in SCALARS:
            continue
        items = elements(obj)
        if items is None:
            facts = obj.facts if t is Handle else table_facts(obj)
            if facts is not None and facts.cells > max_cells:
                raise limit_error(
                    "max_table_cells",
                    f"{what} is a table of {facts.rows:,} rows × {len(facts.columns):,} columns = "
                    f"{facts.cells:,} cells, over max_table_cells={max_cells:,}",
                    line,
                )
            continue
        if id(obj) in seen or flat_size(obj) is not None:
            continue
        seen.add(id(obj))
        keep.append(obj)
        stack.extend(items)
