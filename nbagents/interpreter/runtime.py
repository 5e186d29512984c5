"""The per-interpreter machine: operation budget, interpreter clock, call depth, print buffer.

Compiled code increments ``machine.ops`` and calls ``checkpoint()`` only when ``ops`` passes
``next_check``; ``checkpoint()`` enforces ``max_operations`` and the deadline. A single watchdog
thread lowers ``next_check`` of every running machine every 20 ms, so the deadline is seen at the
next evaluated node even when a loop's body is a single native call; without the thread (a child
process that may not start threads) ``checkpoint()`` still polls the clock every few thousand
operations. Budgets, buffers and deadlines live here, never in the sandbox namespace.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import InterpreterError
from .active import activate
from .limits import Limits, limit_error

__all__ = ["Machine", "Frame", "BREAK", "CONTINUE", "RETURN", "tick", "stack_room"]

_POLL = 4096  # operations between clock reads when no poke arrives
_TRUNCATED = "\n[... output truncated: the program printed more than {} characters]\n"

# Statement signals (statement closures return None or one of these).
BREAK = 1
CONTINUE = 2
RETURN = 3


def tick(m, line: int, c: int) -> None:
    """Enter a statement at ``line`` and charge its cost ``c`` (the frequent statements inline
    this for speed)."""
    m.line = line
    m.ops += c
    if m.ops > m.next_check:
        m.checkpoint()


@contextmanager
def stack_room(limits: Limits) -> Iterator[None]:
    """Raise Python's recursion limit (for this block) so that ``max_call_depth`` nested sandbox
    calls and values ``max_nesting`` deep (which the recursive conversions walk) fit."""
    old = sys.getrecursionlimit()
    wanted = _stack_depth() + 20 * limits.max_call_depth + 10 * limits.max_nesting + 500
    if wanted > old:
        sys.setrecursionlimit(min(wanted, 50_000))
    try:
        yield
    finally:
        if sys.getrecursionlimit() != old:
            sys.setrecursionlimit(old)


def _stack_depth() -> int:
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


class Frame:
    """One scope instance: ``vars`` (locals, or the globals dict at module level), the defining
    frame ``parent`` (closures), the globals dict ``g`` and the pending return value."""

    __slots__ = ("vars", "parent", "g", "ret")

    def __init__(self, vars: dict, parent: Frame | None, g: dict) -> None:
        self.vars = vars
        self.parent = parent
        self.g = g
        self.ret = None


class _Watchdog:
    """One daemon thread that pokes every running machine so it reads its clock soon."""

    interval = 0.02

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._machines: set = set()
        self._thread: threading.Thread | None = None

    def watch(self, machine: Machine) -> None:
        with self._cond:
            self._machines.add(machine)
            if self._thread is None or not self._thread.is_alive():
                thread = threading.Thread(target=self._loop, name="nbagents-watchdog", daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # cannot start threads (rlimits): the clock is polled
                    self._thread = None
                else:
                    self._thread = thread
            self._cond.notify()

    def unwatch(self, machine: Machine) -> None:
        with self._cond:
            self._machines.discard(machine)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._machines:
                    self._cond.wait()
                machines = list(self._machines)
            for machine in machines:
                machine.next_check = -1
            time.sleep(self.interval)


watchdog = _Watchdog()


class Machine:
    """Mutable state of the runs of one interpreter (one run at a time)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.running = False
        self.ops = 0
        self.next_check = 0
        self.max_ops = limits.max_operations
        self.depth = 0
        self.line: int | None = None
        self.tools: dict = {}
        self.table_tools: tuple = ()  # in the isolated child: the tools that take a table (sent by the kernel)
        self.handles = None  # HandleRegistry, set by the interpreter
        self.facades: dict = {}
        self.builtins: dict = {}
        self.tool_caller: Callable | None = None
        self._t0 = 0.0
        self._paused_at: float | None = None
        self._paused = 0.0
        self._prints: list[str] = []
        self._printed = 0
        self._truncated = False
        self._on_print: Callable[[str], None] | None = None
        self.tool_calls: list = []
        self.tools_called = 0  # tool calls asked for this run (refused and failed ones too)
        self.kept: dict = {}  # the state as the last run left it (its values are not inputs)
        self.last_value = None
        self.interrupted = False
        self.refusal: BaseException | None = None  # what the approval hook raised, this run
        self._previous = None
        self.memory = 0  # bytes built natively this run (charge_memory)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, on_print: Callable[[str], None] | None) -> None:
        if self.running:
            raise InterpreterError(
                "This interpreter is already running a program (runs are not re-entrant).",
                hint="Use a separate Interpreter for nested runs.",
            )
        self.ops = 0
        self.depth = 0
        self.line = None
        self.next_check = min(self.max_ops, _POLL)
        self._prints = []
        self._printed = 0
        self._truncated = False
        self._on_print = on_print
        self.tool_calls = []
        self.tools_called = 0
        self.last_value = None
        self.interrupted = False
        self.refusal = None
        self.memory = 0
        self._paused = 0.0
        self._paused_at = None
        self._previous = activate(self)
        self.running = True
        self._t0 = time.monotonic()
        watchdog.watch(self)

    def stop(self) -> None:
        watchdog.unwatch(self)
        self.running = False
        activate(self._previous)
        self._previous = None

    # --- budget and clock -------------------------------------------------------------------

    def wall(self) -> float:
        """Wall-clock time of the current run, tool time included."""
        return time.monotonic() - self._t0

    def elapsed(self) -> float:
        """Interpreter time of the current run (time inside tools excluded)."""
        now = self._paused_at if self._paused_at is not None else time.monotonic()
        return now - self._t0 - self._paused

    def checkpoint(self) -> None:
        if not self.running:
            raise InterpreterError("Sandbox code can only run inside Interpreter.run.")
        if self.interrupted:
            raise KeyboardInterrupt
        if self.ops > self.max_ops:
            raise limit_error("max_operations", f"{self.max_ops} operations", self.line)
        if self.elapsed() > self.limits.timeout_s:
            raise limit_error("timeout_s", f"{self.limits.timeout_s} s", self.line)
        self.check_wall()
        self.next_check = min(self.max_ops, self.ops + _POLL)

    def check_wall(self) -> None:
        """Enforce ``wall_timeout_s`` (the run's wall clock, tool time included)."""
        if self.wall() > self.limits.wall_timeout_s:
            raise limit_error(
                "wall_timeout_s",
                f"{self.limits.wall_timeout_s} s of wall-clock time, {self._paused:.1f} s of it in tools",
                self.line,
            )

    def before_tool_call(self, name: str) -> None:
        """Count one tool call against ``max_tool_calls`` and check the wall clock first."""
        if self.tools_called >= self.limits.max_tool_calls:
            raise limit_error(
                "max_tool_calls", f"{self.limits.max_tool_calls} tool calls; the next was {name!r}", self.line
            )
        self.check_wall()
        self.tools_called += 1

    def charge(self, n: int) -> None:
        """Count ``n`` operations of native work (elements consumed, characters built...)."""
        self.ops += n
        if self.ops > self.next_check:
            self.checkpoint()

    def charge_memory(self, nbytes: int) -> None:
        """Count ``nbytes`` built natively against ``Limits.memory_mb`` (refused beyond it)."""
        self.memory += nbytes
        if self.memory > self.limits.memory_mb << 20:
            raise limit_error("memory_mb", f"{self.limits.memory_mb} MB of values built natively", self.line)

    def pause(self) -> None:
        self._paused_at = time.monotonic()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused += time.monotonic() - self._paused_at
            self._paused_at = None

    # --- output -----------------------------------------------------------------------------

    def write(self, text: str) -> None:
        if self._truncated or not text:
            return
        room = self.limits.max_print_chars - self._printed
        if len(text) > room:
            text = text[: max(room, 0)] + _TRUNCATED.format(self.limits.max_print_chars)
            self._truncated = True
        self._printed += len(text)
        self._prints.append(text)
        if self._on_print is not None:
            self._on_print(text)

    def printed(self) -> str:
        return "".join(self._prints)

    def error(self, make: Callable[..., Exception], *args: object) -> Exception:
        """Build an interpreter error carrying the current line."""
        return make(*args, line=self.line)
