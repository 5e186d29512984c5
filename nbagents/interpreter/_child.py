"""The isolated child: runs programs sent by the kernel, asks the kernel to run tools.

Started by :mod:`.isolation` as ``python -I -S -c <bootstrap>`` in an empty temporary
directory with a scrubbed environment. Sets its own rlimits, then serves JSON lines on
stdin/stdout (stdout is moved to a private descriptor; stray writes go to stderr).
"""

from __future__ import annotations

import json
import os
import sys

from ..errors import InterpreterError, NbAgentsError, ToolExecutionError
from .builtins import BUILTINS
from .codec import Unencodable, decode, encode
from .conversion import to_result
from .facades import make_facade
from .limits import Limits
from .reprs import safe_text
from .runtime import Machine, stack_room, watchdog
from .sandbox import execute
from .tablefacts import TableFacts
from .toolcall import check_arguments
from .values import Handle, HandleRegistry, measure

__all__ = ["main"]


class _Channel:
    def __init__(self) -> None:
        self.out = os.dup(1)
        os.dup2(2, 1)  # prints from native code (none expected) cannot corrupt the protocol
        self.inp = sys.stdin.buffer

    def send(self, message: dict) -> None:
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode("utf-8", "surrogatepass")
        view = memoryview(data)
        while view:
            written = os.write(self.out, view)
            view = view[written:]

    def receive(self) -> dict:
        line = self.inp.readline()
        if not line:
            raise SystemExit(0)
        return json.loads(line)


def _limit_resources(memory_mb: int) -> None:
    import resource

    def cap(kind, value):
        try:
            soft, hard = resource.getrlimit(kind)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_FSIZE, 0)
    cap(resource.RLIMIT_NOFILE, 32)
    cap(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    if hasattr(resource, "RLIMIT_NPROC"):
        cap(resource.RLIMIT_NPROC, 0)


def _cpu_budget(seconds: float) -> None:
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    total = int(used.ru_utime + used.ru_stime + seconds) + 2
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (total, hard))
    except (ValueError, OSError):
        pass


def error_fields(error: NbAgentsError) -> dict:
    fields = {"class": type(error).__name__, "message": error.message, "hint": error.hint}
    for name in ("line", "construct", "name", "defined", "tools", "limit", "value", "exc_type", "detail", "tool"):
        if hasattr(error, name):
            value = getattr(error, name)
            fields[name] = value if type(value) in (int, str, list, type(None)) else str(value)
    return fields


def _done(result, state: dict, limits: Limits) -> dict:
    """The ``done`` message: the value and the state, checked to cross (``max_nesting``,
    ``max_sequence_length``: a ``LimitExceededError`` names the value) and encoded."""
    with stack_room(limits):
        measure(result.value, what="the result", max_depth=limits.max_nesting, max_size=limits.max_sequence_length)
        try:
            value = encode(to_result(result.value, keep_handles=True))
        except Unencodable:
            value = safe_text(result.value)
        encoded_state = {}
        for key, item in state.items():
            measure(item, what=f"the variable {key!r}", max_depth=limits.max_nesting, max_size=limits.max_sequence_length)
            try:
                encoded_state[key] = encode(item)
            except Unencodable:
                pass
    return {
        "op": "done",
        "value": value,
        "prints": result.prints,
        "operations": result.operations,
        "duration_s": result.duration_s,
        "state": encoded_state,
    }


def main() -> None:
    memory_mb = int(sys.argv[1])
    channel = _Channel()
    machine = Machine(Limits())
    machine.handles = HandleRegistry()
    handles: dict[int, Handle] = {}
    watchdog.watch(machine)  # start the watchdog thread before threads are forbidden
    watchdog.unwatch(machine)
    _limit_resources(memory_mb)

    def handle(number: int, kind: str, table=None) -> Handle:
        found = handles.get(number)
        facts = TableFacts.decode(table)
        if found is None:
            found = handles[number] = Handle(None, number, kind, facts)
        elif facts is not None:
            found.refresh(facts)  # the kernel's table changed (a tool changed it in place)
        return found

    def restore(data):
        return decode(data, handle, lambda name: make_facade(machine, name), BUILTINS.__getitem__)

    def call_tool(m, ref, args, kwargs):
        m.before_tool_call(ref.name)  # max_tool_calls and wall_timeout_s, as in the kernel
        check_arguments(args, kwargs, max_depth=m.limits.max_nesting, line=m.line, tool=ref.name)
        try:
            message = {"op": "tool", "name": ref.name, "args": encode(list(args)), "kwargs": encode(dict(kwargs))}
        except Unencodable as exc:
            from ..errors import RefusedConstructError

            raise RefusedConstructError(f"passing {exc} to a tool", line=m.line) from None
        message["line"] = m.line
        m.pause()
        try:
            channel.send(message)
            reply = channel.receive()
        finally:
            m.resume()
        m.check_wall()
        if reply.get("op") == "result":
            for number, facts in reply.get("tables") or ():  # tables the tool was given, as they are now
                found = handles.get(number)
                if found is not None and (facts := TableFacts.decode(facts)) is not None:
                    found.refresh(facts)
            return restore(reply["value"])
        if reply.get("op") == "tool_error":
            raise ToolExecutionError(ref.name, str(reply.get("detail")), line=m.line)
        raise InterpreterError("The run was stopped by the kernel.", line=m.line)

    channel.send({"op": "ready"})
    while True:
        request = channel.receive()
        if request.get("op") != "run":
            continue
        limits = Limits(**request["limits"])
        if limits != machine.limits:
            machine = Machine(limits)
            machine.handles = HandleRegistry()
        _cpu_budget(limits.timeout_s * 2 + 1)
        state = {k: restore(v) for k, v in request["state"].items()}
        machine.table_tools = tuple(n for n in request.get("table_tools") or () if type(n) is str)
        stream = (lambda text: channel.send({"op": "print", "text": text})) if request.get("stream") else None
        try:
            result = execute(
                machine, request["code"], dict.fromkeys(request["tools"]), state, stream,
                tool_caller=call_tool, process=True, raw_value=True,
            )  # fmt: skip
            channel.send(_done(result, state, limits))
        except NbAgentsError as error:
            channel.send({"op": "error", "error": error_fields(error)})
        except BaseException as exc:  # noqa: BLE001 - a message, never a traceback
            channel.send({"op": "error", "error": {"class": "IsolationError", "message": f"{type(exc).__name__}: {safe_text(exc)}"[:2000]}})
        handles.clear()


if __name__ == "__main__":  # pragma: no cover
    main()
