"""The tool-call relay of process isolation: the data of one isolated run, on the kernel's side.

What the kernel sends (the state, encoded as JSON-able data; values that cannot cross stay in
the kernel, unseen by the program), the tool calls the child asks for (decoded, checked like a
call in the kernel, run here under the approval hook, the result encoded or kept here as a
handle) and the result and state the child sends back. The child may only name handles this
run has sent it; anything it sends that the protocol does not allow raises :class:`ChildCrash`.
The pipes and the child's lifecycle are in :mod:`.isolation`.
"""

from __future__ import annotations

from ..errors import LimitExceededError, RefusedConstructError
from .builtins import BUILTINS
from .codec import Unencodable, decode, encode
from .conversion import to_host, to_result, to_sandbox
from .facades import make_facade
from .limits import Execution, limit_error
from .runtime import Machine, stack_room
from .toolcall import BeforeToolCall, check_tables, run_tool
from .values import CONTAINERS, Handle, HandleRegistry, measure, refresh_tables

__all__ = ["ChildCrash", "ToolRefused", "RunRelay"]


class ChildCrash(Exception):
    """The child stopped, or sent something the protocol does not allow: the run ends and
    the child is replaced."""


class ToolRefused(Exception):
    """The approval hook refused a tool call; ``error`` is what it raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class RunRelay:
    """The kernel's side of one run's data: the handles the child may name (``allowed``),
    decoding, tool calls (``tool_calls``: name and duration of each tool that ran) and the
    result."""

    def __init__(self, handles: HandleRegistry, facades: Machine) -> None:
        self.handles = handles
        self.facades = facades
        self.limits = facades.limits
        self.allowed: dict[int, Handle] = {}
        self.tool_calls: list[tuple[str, float]] = []

    def encode_state(self, state: dict) -> dict:
        """The state as sent to the child; ``state`` is converted to sandbox values in place
        (the caller's objects are never changed: the child gets copies). A variable nested
        more than ``max_nesting`` deep, or too large to encode, raises ``LimitExceededError``."""
        sent = {}
        for key, value in list(state.items()):
            self._measure(value, f"the variable {key!r}")
            with stack_room(self.limits):
                value = to_sandbox(value, self.handles, trusted=True)
            state[key] = value
            _collect_handles(value, self.allowed)
            try:
                with stack_room(self.limits):
                    sent[key] = encode(value)
            except Unencodable:
                pass  # stays in the state, unseen by the program
        return sent

    def _measure(self, value, what: str) -> None:
        measure(value, what=what, max_depth=self.limits.max_nesting, max_size=self.limits.max_sequence_length)

    def decode(self, data):
        """A value the child sent (handles only those of ``allowed``)."""
        def handle(number: int, kind: str, table=None):
            found = self.allowed.get(number)
            if found is None:
                raise ChildCrash  # a handle this run never had
            return found

        return decode(data, handle, lambda name: make_facade(self.facades, name), BUILTINS.__getitem__)

    def call_tool(self, tools: dict, message: dict, before: BeforeToolCall | None) -> dict:
        """Run the tool call the child asked for; the reply to send back."""
        name = message.get("name")
        fn = tools.get(name)
        try:
            with stack_room(self.limits):
                args = self.decode(message.get("args"))
                kwargs = self.decode(message.get("kwargs"))
            self._measure([args, kwargs], "the arguments")  # the child checked them: a lie is a crash
        except (ValueError, TypeError, KeyError, RecursionError, LimitExceededError):
            raise ChildCrash from None
        if fn is None or type(args) is not list or type(kwargs) is not dict:
            raise ChildCrash
        try:  # the child refuses what to_host refuses (as in the kernel) before it asks
            host_args = [to_host(a) for a in args]
            host_kwargs = {str(k): to_host(v) for k, v in kwargs.items()}
        except RefusedConstructError:
            raise ChildCrash from None
        line = message.get("line") if type(message.get("line")) is int else None
        if len(self.tool_calls) >= self.limits.max_tool_calls:  # the child counts first; this holds
            raise ToolRefused(limit_error("max_tool_calls", f"{self.limits.max_tool_calls} tool calls", line))
        try:
            call = run_tool(str(name), fn, host_args, host_kwargs, line=line, before=before)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - the hook refused the call
            raise ToolRefused(exc) from None
        self.tool_calls.append((call.name, call.duration_s))
        if call.error is not None:
            return {"op": "tool_error", "detail": call.error.detail}
        result = call.value
        try:  # a result too deep or too large to cross ends the run, as in the kernel
            self._measure(result, f"the result of the tool {call.name!r}")
        except LimitExceededError as exc:
            raise ToolRefused(limit_error(exc.limit, exc.value, line)) from None
        with stack_room(self.limits):
            value = to_sandbox(result, self.handles)
            try:  # a table too large ends the run, as in the kernel
                check_tables(value, self.limits.max_table_cells, what=f"the result of the tool {call.name!r}", line=line)
            except LimitExceededError as exc:
                raise ToolRefused(exc) from None
            try:
                encoded = encode(value)
            except Unencodable:
                value = self.handles.wrap(result)
                encoded = encode(value)
        _collect_handles(value, self.allowed)
        reply = {"op": "result", "value": encoded}
        passed: dict[int, Handle] = {}
        _collect_handles([args, kwargs], passed)
        refresh_tables(passed.values())
        tables = [[n, h.facts.encode()] for n, h in passed.items() if h.facts is not None]
        if tables:  # the tool may have changed them in place: the child's facts follow
            reply["tables"] = tables
        return reply

    def finish(self, message: dict, state: dict) -> Execution:
        """The execution from the child's ``done`` message; ``state`` is updated in place."""
        try:
            with stack_room(self.limits):
                value = self.decode(message.get("value"))
                new_state = {str(k): self.decode(v) for k, v in (message.get("state") or {}).items()}
                self._measure(value, "the result")  # the child measured it: a lie is a crash
                value = to_result(value)
        except (ValueError, TypeError, KeyError, RecursionError, AttributeError, LimitExceededError):
            raise ChildCrash from None
        unseen = {k: v for k, v in state.items() if _unencodable(v)}
        state.clear()
        state.update(unseen)
        state.update(new_state)
        return Execution(
            value=value,
            prints=str(message.get("prints", "")),
            operations=int(message.get("operations", 0)),
            duration_s=float(message.get("duration_s", 0.0)),
            tool_calls=tuple(self.tool_calls),
        )


def _unencodable(value) -> bool:
    try:
        encode(value)
    except Unencodable:
        return True
    return False


def _collect_handles(value, found: dict, depth: int = 0) -> None:
    t = type(value)
    if t is Handle:
        found[value.number] = value
    elif (t in CONTAINERS or isinstance(value, dict)) and depth < 100:
        items = value.items() if isinstance(value, dict) else value
        for item in items:
            _collect_handles(item, found, depth + 1)
