"""The public entry points: :class:`Interpreter` and :func:`run`."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import (
    ConfigurationError,
    InterpreterError,
    LimitExceededError,
    NbAgentsError,
    SandboxRuntimeError,
)
from .classes import error_name
from .conversion import host_value, to_host, to_result, to_sandbox
from .evaluator import Compiler
from .facades import PROCESS_ONLY
from .limits import Execution, Limits, limit_error
from .reprs import safe_str
from .runtime import Frame, Machine, stack_room
from .toolcall import (
    MESSAGE_CAP,
    BeforeToolCall,
    ToolCall,
    capped,
    check_arguments,
    check_tables,
    clean,
    run_tool,
)
from .validate import parse, validate
from .values import Facade, HandleRegistry, ToolRef, copy_plain, measure, refresh_tables

__all__ = ["Interpreter", "run", "execute", "enter_state", "call_tool"]

_ISOLATIONS = ("none", "process")



class Interpreter:
    """Runs agent programs with a restricted, resource-limited interpreter.

    Parameters
    ----------
    limits:
        Resource limits (:class:`Limits`); the defaults stop any runaway program within 2 s.
    isolation:
        ``"none"``: in the kernel's process (a guard rail against accidents and casual
        injection). ``"process"``: in a child process with rlimits, killed at the deadline (the
        security boundary); tools still run in the kernel.

    Attributes
    ----------
    before_tool_call:
        ``None``, or a callable given a :class:`~.toolcall.ToolRequest` before every tool call,
        in programs (both isolations) and through :meth:`call_tool`; it runs in the kernel,
        with the interpreter clock paused. Raising (an ``NbAgentsError``, say a
        ``ToolError``) refuses the call: the tool does not run, the program stops (its
        ``except`` cannot catch a refusal, and it makes no further tool call) and
        :meth:`run` or :meth:`call_tool` raises that same error. The hook point of a later
        approval step.

    Notes
    -----
    A real ``KeyboardInterrupt`` (Jupyter's interrupt) stops the run and is reported as an
    :class:`~nbagents.errors.InterpreterError` ("interrupted"); in process mode the child is
    killed. In both modes the plain containers of the values new to ``state`` (inputs; not what
    the last run left there) are copied at the start of a run: the caller's objects are never
    changed, and ``state`` holds the copies afterwards. In process
    mode the state crosses the boundary as JSON data: sandbox functions
    defined by a program are dropped from the state after the run (define them again),
    facade modules and handles are kept, containers come back as new objects (shared
    references between variables are not preserved), and values that cannot be encoded stay
    in the state unseen by the program.
    """

    def __init__(self, *, limits: Limits | None = None, isolation: str = "none") -> None:
        if isolation not in _ISOLATIONS:
            raise ConfigurationError(f"isolation must be one of {_ISOLATIONS}, not {isolation!r}")
        self.limits = limits or Limits()
        self.isolation = isolation
        self.before_tool_call: BeforeToolCall | None = None
        self._machine = Machine(self.limits)
        self._machine.handles = HandleRegistry()
        self._lock = threading.Lock()
        self._child = None
        if isolation == "process":
            from .isolation import ChildProcess

            self._child = ChildProcess(self.limits, self._machine.handles)

    def check(self, code: str, tools: Mapping[str, Callable] = {}) -> None:  # noqa: B006 - read only
        """Parse and validate ``code`` without running it (raises on the first refusal)."""
        validate(parse(code, self.limits), tuple(tools), self.limits, process=self._child is not None)

    def run(
        self,
        code: str,
        tools: Mapping[str, Callable],
        state: dict | None = None,
        *,
        on_print: Callable[[str], None] | None = None,
    ) -> Execution:
        """Run ``code`` with ``tools``; ``state`` holds the variables and persists across runs.

        Returns an :class:`Execution`; raises an
        :class:`~nbagents.errors.InterpreterError` subclass when the program is refused,
        exceeds a limit or raises, and :class:`~nbagents.errors.ToolExecutionError` when a
        tool fails.
        """
        if state is None:
            state = {}
        if not self._lock.acquire(blocking=False):
            raise InterpreterError(
                "This interpreter is already running a program (runs are not re-entrant).",
                hint="Use a separate Interpreter for nested runs.",
            )
        try:
            if self._child is not None:
                return self._child.run(code, dict(tools), state, on_print, before_tool_call=self.before_tool_call)
            caller = functools.partial(call_tool, before=self.before_tool_call)
            return execute(self._machine, code, tools, state, on_print, tool_caller=caller)
        finally:
            self._lock.release()

    def call_tool(
        self,
        name: str,
        tool: Callable,
        kwargs: Mapping[str, Any] | None = None,
        *,
        args: Sequence = (),
    ) -> ToolCall:
        """Call one tool the way a program's call does, for callers outside a program.

        The arguments reach the tool as they would after passing through a program (plain
        data copied into exact builtin types, handles unwrapped, other objects as they are);
        :attr:`before_tool_call` is asked first; a tool's exception becomes the same
        message-only :class:`~nbagents.errors.ToolExecutionError` (``"The tool 'x' failed:
        ValueError: ..."``). The tool runs in this process whatever the isolation. Needs no
        running program and may be called from several threads at once (the caller
        serialises tools that are not thread-safe).

        Returns
        -------
        ToolCall
            ``value`` is the tool's result, unchanged; ``duration_s`` how long the tool ran.

        Raises
        ------
        ToolExecutionError
            The tool raised.
        LimitExceededError
            The arguments or the result nest more than ``max_nesting`` deep, or the result has
            more than ``max_sequence_length`` elements counted as printed.
        NbAgentsError
            Whatever ``before_tool_call`` raised to refuse the call (the tool did not run).
        """
        measure([args, kwargs], what=f"the arguments of the tool {name!r}", max_depth=self.limits.max_nesting + 2)
        with stack_room(self.limits):
            host_args = tuple(host_value(a) for a in args)
            host_kwargs = {k: host_value(v) for k, v in (kwargs or {}).items()}
        call = run_tool(name, tool, host_args, host_kwargs, before=self.before_tool_call)
        if call.error is not None:
            raise call.error
        measure(call.value, what=f"the result of the tool {name!r}", max_depth=self.limits.max_nesting,
                max_size=self.limits.max_sequence_length)
        check_tables(call.value, self.limits.max_table_cells, what=f"the result of the tool {name!r}")
        return call

    def close(self) -> None:
        """Stop the child process of process isolation (a later run starts a new one)."""
        if self._child is not None:
            self._child.close()


def run(
    code: str,
    tools: Mapping[str, Callable],
    state: dict | None = None,
    *,
    limits: Limits | None = None,
    isolation: str = "none",
) -> Execution:
    """Run ``code`` once with a new :class:`Interpreter` (see :meth:`Interpreter.run`)."""
    interpreter = Interpreter(limits=limits, isolation=isolation)
    try:
        return interpreter.run(code, tools, state)
    finally:
        interpreter.close()


# --- one run in this process ------------------------------------------------------------------


def execute(m: Machine, code: str, tools: Mapping, state: dict, on_print, *, tool_caller=None, process=False, raw_value=False):
    """Run ``code`` on machine ``m``; used in the kernel and in the isolated child.

    ``tool_caller(m, ref, args, kwargs)`` runs the program's tool calls (default
    :func:`call_tool`, without an approval hook). The plain containers of ``state`` are copied
    first (:func:`enter_state`), so a run never changes an object its caller holds.
    """
    tree = parse(code, m.limits)
    validate(tree, tuple(tools), m.limits, process=process)
    with stack_room(m.limits):
        return _execute(m, tree, tools, state, on_print, tool_caller, process, raw_value)


def enter_state(state: dict, handles: HandleRegistry, limits: Limits, *, kept: Mapping | None) -> None:
    """The state as a run sees it, in place: the plain containers of every input (a value
    that is not the very object ``kept`` holds under its name: what the last run left; with
    ``kept=None`` nothing is an input: the child's state is decoded afresh for each run) copied,
    with one memo, so inputs sharing a list still share the copy; then everything converted
    to sandbox values (handles for what is not plain data). Raises ``LimitExceededError``
    (``max_nesting``) for a variable nested too deeply, :class:`InterpreterError` for one
    that cannot be converted."""
    memo: dict = {}
    for key, value in list(state.items()):
        what = f"the variable {key!r}"
        if kept is not None and kept.get(key, state) is not value:
            value = copy_plain(value, memo, what=what, max_depth=limits.max_nesting)
        try:
            converted = to_sandbox(value, handles, trusted=True)
        except RecursionError:
            error = limit_error("max_nesting", f"{what} is nested too deeply")
        except Exception as exc:  # noqa: BLE001 - a broken host object in the state
            error = InterpreterError(f"The state value {key!r} could not be converted: {type(exc).__name__}.")
        else:
            error = None
            state[key] = converted
        if error is not None:
            raise error


def _execute(m: Machine, tree, tools: Mapping, state: dict, on_print, tool_caller, process, raw_value):
    for key, value in list(state.items()):
        if type(value) is Facade and value.name in PROCESS_ONLY and not process:
            del state[key]  # e.g. ``re`` imported in process isolation: not in the kernel
    enter_state(state, m.handles, m.limits, kept=None if process else m.kept)
    m.tools = {name: ToolRef(name, fn) for name, fn in tools.items() if type(name) is str}
    m.tool_caller = tool_caller or call_tool
    program = Compiler(m).module(tree)
    error = None
    m.start(on_print)
    try:
        program(Frame(state, None, state))
    except BaseException as exc:  # noqa: BLE001 - nothing leaves except our errors
        error = convert_error(m, exc)
    finally:
        duration = m.elapsed()
        m.stop()
        m.kept = dict(state)  # the next run copies only what is new
    if m.refusal is not None:  # a refused tool call ends the run, even when the program went on
        error = m.refusal
    if error is None and not raw_value:
        try:
            measure(m.last_value, what="the result", max_depth=m.limits.max_nesting,
                    max_size=m.limits.max_sequence_length)
        except LimitExceededError as exc:
            error = exc
    if error is not None:
        raise clean(error)
    return Execution(
        value=m.last_value if raw_value else to_result(m.last_value),
        prints=m.printed(),
        operations=m.ops,
        duration_s=duration,
        tool_calls=tuple(m.tool_calls),
    )


def exception_message(exc: BaseException) -> str:
    try:
        return capped(safe_str(None, exc, MESSAGE_CAP))
    except Exception:  # noqa: BLE001 - a message must never fail
        return "(no message)"


def convert_error(m: Machine, exc: BaseException) -> NbAgentsError:
    if isinstance(exc, NbAgentsError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return InterpreterError("The run was interrupted (KeyboardInterrupt).", line=m.line)
    if isinstance(exc, MemoryError):
        return limit_error("memory_mb", "out of memory", m.line)
    return SandboxRuntimeError(error_name(exc), exception_message(exc), line=m.line)


def call_tool(m: Machine, ref: ToolRef, args: tuple, kwargs: dict, *, before: BeforeToolCall | None = None):
    """Call a tool in this process: arguments checked to be plain data, handles unwrapped,
    the budget (``max_tool_calls``) and the wall clock (``wall_timeout_s``, checked before and
    after) enforced, the interpreter clock paused, errors message-only.

    ``before`` is the approval hook: when it raises, the run stops with that error (kept in
    ``m.refusal``; raised here as an :class:`InterpreterError`, which ``except`` cannot catch),
    and every later tool call of the run is refused too.
    """
    if m.refusal is not None:
        raise InterpreterError(f"The call of the tool {ref.name!r} was refused.", line=m.line)
    m.before_tool_call(ref.name)
    check_arguments(args, kwargs, max_depth=m.limits.max_nesting, line=m.line, tool=ref.name)
    host_args = [to_host(a) for a in args]
    host_kwargs = {k: to_host(v) for k, v in kwargs.items()}
    m.pause()
    try:
        call = run_tool(ref.name, ref.fn, host_args, host_kwargs, line=m.line, before=before)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the hook refused: the run stops with its error
        m.refusal = exc
        raise InterpreterError(f"The call of the tool {ref.name!r} was refused.", line=m.line) from None
    finally:
        m.resume()
    m.tool_calls.append((ref.name, call.duration_s))
    if args or kwargs:
        refresh_tables((*args, *kwargs.values()))  # the tool may have changed a table it was given
    m.check_wall()
    if call.error is not None:
        raise call.error
    measure(call.value, what=f"the result of the tool {ref.name!r}", max_depth=m.limits.max_nesting)
    value = to_sandbox(call.value, m.handles)
    check_tables(value, m.limits.max_table_cells, what=f"the result of the tool {ref.name!r}", line=m.line)
    return value
