"""Process isolation (the security boundary): the same interpreter in a child process.

The child runs ``python -I -S`` (no site-packages, no user site, no ``PYTHON*`` variables)
with a bootstrap that imports only ``nbagents.interpreter`` (not the ``nbagents`` package's
``__init__``), in an empty temporary directory, with an environment reduced to
``PATH``/``LANG``/``HOME`` (no API keys, tokens, ``JUPYTER_*``/``HF_*``/``OPENAI_*``), no
inherited descriptors, its own session, and rlimits set before it reads a program
(``RLIMIT_AS`` = ``memory_mb``, ``RLIMIT_FSIZE`` = 0, ``RLIMIT_NOFILE`` = 32,
``RLIMIT_NPROC`` = 0, ``RLIMIT_CORE`` = 0, ``RLIMIT_CPU`` per run).

Tools run here, in the kernel: the child sends JSON lines (never pickle) naming the tool and
its plain-data arguments; non-JSON results stay here and cross as handle numbers. The kernel
keeps two deadlines, interpreter time (``timeout_s`` plus a grace period, tool time excluded)
and wall-clock time (``wall_timeout_s`` plus the grace, tool time included), and SIGKILLs the
child when one passes, the only way to stop a native loop; a tool that returns after the
wall deadline ends the run the same way, and the relay holds ``max_tool_calls`` too. One warm child serves
the runs of an :class:`Interpreter`; a killed or crashed child is replaced at the next run.

This module owns the child's lifecycle, the pipes and the message loop of a run; the data of
a run (the state sent, the tool calls relayed, the result received) is :mod:`.relay`'s job.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path

from ..errors import (
    InterpreterError,
    IsolationError,
    LimitExceededError,
    RefusedConstructError,
    SandboxRuntimeError,
    ToolExecutionError,
    UndefinedNameError,
    UnknownToolError,
)
from .limits import Execution, Limits, limit_error
from .relay import ChildCrash, RunRelay, ToolRefused
from .runtime import Machine
from .tablefacts import table_tool_names
from .toolcall import BeforeToolCall, clean
from .validate import parse, validate
from .values import HandleRegistry

__all__ = ["ChildProcess"]

_BOOTSTRAP = (
    "import sys, types\n"
    "root = sys.argv.pop(1)\n"
    "package = types.ModuleType('nbagents')\n"
    "package.__path__ = [root]\n"
    "sys.modules['nbagents'] = package\n"
    "from nbagents.interpreter._child import main\n"
    "main()\n"
)
_MAX_MESSAGE = 128 * 1024 * 1024  # a longer line from the child is a protocol violation
_START_TIMEOUT_S = 30.0


class _Timeout(Exception):
    pass


def _grace(limits: Limits) -> float:
    return max(0.5, 0.25 * limits.timeout_s)


def _kill(proc: subprocess.Popen | None, directory: str | None) -> None:
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.wait()
    if proc is not None:
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if directory:
        shutil.rmtree(directory, ignore_errors=True)


class ChildProcess:
    """The kernel's side of process isolation for one interpreter."""

    def __init__(self, limits: Limits, handles: HandleRegistry) -> None:
        self.limits = limits
        self.handles = handles
        self.start_time_s: float | None = None  # how long the last child took to be ready
        self._facades = Machine(limits)
        self._proc: subprocess.Popen | None = None
        self._dir: str | None = None
        self._buffer = bytearray()
        self._stderr = bytearray()
        self._finalizer = None

    # --- lifecycle -------------------------------------------------------------------------

    def _start(self) -> None:
        started = time.monotonic()
        self._dir = tempfile.mkdtemp(prefix="nbagents-sandbox-")
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": self._dir, "TMPDIR": self._dir}
        root = str(Path(__file__).resolve().parent.parent)
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _BOOTSTRAP, root, str(self.limits.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self._dir,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        self._buffer.clear()
        self._stderr.clear()
        self._finalizer = weakref.finalize(self, _kill, self._proc, self._dir)
        deadline = time.monotonic() + _START_TIMEOUT_S
        try:
            message = self._receive(lambda: deadline - time.monotonic())
        except (_Timeout, ChildCrash):
            message = None
        if not message or message.get("op") != "ready":
            error = self._crash_error("did not start")
            self.close()
            raise error
        self.start_time_s = time.monotonic() - started

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._proc = None
        self._dir = None

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # --- the pipes -------------------------------------------------------------------------

    def _send(self, message: dict) -> None:
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode("utf-8", "surrogatepass")
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise ChildCrash from None

    def _receive(self, remaining) -> dict:
        out, err = self._proc.stdout.fileno(), self._proc.stderr.fileno()
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                try:
                    message = json.loads(line)
                except (ValueError, RecursionError):
                    raise ChildCrash from None
                if type(message) is not dict:
                    raise ChildCrash
                return message
            left = remaining()
            if left <= 0:
                raise _Timeout
            ready, _, _ = select.select([out, err], [], [], min(left, 0.25))
            if err in ready:
                chunk = os.read(err, 65536)
                self._stderr += chunk
                del self._stderr[:-8192]
            if out in ready:
                chunk = os.read(out, 1 << 20)
                if not chunk:
                    raise ChildCrash
                self._buffer += chunk
                if len(self._buffer) > _MAX_MESSAGE:
                    raise ChildCrash

    def _crash_error(self, what: str) -> IsolationError:
        code = self._proc.poll() if self._proc is not None else None
        if code is None and self._proc is not None:
            _kill(self._proc, None)
            code = self._proc.returncode
        detail = ""
        if code is not None and code < 0:
            try:
                detail = f" (killed by {signal.Signals(-code).name})"
            except ValueError:
                detail = f" (signal {-code})"
        elif code:
            detail = f" (exit status {code})"
        tail = [line.strip() for line in self._stderr.decode("utf-8", "replace").strip().splitlines()]
        memory = "MemoryError" in " ".join(tail[-3:]) or code in (-signal.SIGKILL, -signal.SIGSEGV)
        tail = [_without_paths(line) for line in tail if _is_error_line(line)][-1:]  # no traceback
        hint = "The child is restarted at the next run."
        if memory:
            hint = f"It may have exceeded memory_mb={self.limits.memory_mb}; raise Limits(memory_mb=...) if the program is right. " + hint
        message = f"The isolated child process {what}{detail}."
        if tail:
            message += " Last output: " + " | ".join(tail)[-500:]
        return IsolationError(message, hint=hint)

    # --- one run ---------------------------------------------------------------------------

    def run(
        self, code: str, tools: dict, state: dict, on_print, *, before_tool_call: BeforeToolCall | None = None
    ) -> Execution:
        """One run in the child; ``before_tool_call`` is asked (here, in the kernel) before
        each tool call; a refusal stops the child's run and is raised here."""
        validate(parse(code, self.limits), tuple(tools), self.limits, process=True)
        relay = RunRelay(self.handles, self._facades)
        sent = relay.encode_state(state)
        request = {
            "op": "run",
            "code": code,
            "tools": [name for name in tools if type(name) is str],
            "table_tools": table_tool_names(tools),
            "state": sent,
            "limits": dataclasses.asdict(self.limits),
            "stream": on_print is not None,
        }
        refusal: BaseException | None = None
        tool_time = [0.0]
        start = time.monotonic()
        budget = self.limits.timeout_s + _grace(self.limits)
        wall_budget = self.limits.wall_timeout_s + _grace(self.limits)

        def remaining() -> float:
            now = time.monotonic() - start
            return min(budget - (now - tool_time[0]), wall_budget - now)

        def wall_error(line: int | None = None) -> LimitExceededError:
            self.close()
            return limit_error(
                "wall_timeout_s",
                f"{self.limits.wall_timeout_s} s of wall-clock time, {tool_time[0]:.1f} s of it in tools; "
                "the isolated child was killed",
                line,
            )

        try:
            if not self._alive():
                self.close()
                self._start()
                start = time.monotonic()
            self._send(request)
            while True:
                message = self._receive(remaining)
                op = message.get("op")
                if op == "print":
                    if on_print is not None:
                        on_print(str(message.get("text", "")))
                elif op == "tool":
                    began = time.monotonic()
                    try:
                        if refusal is not None:  # no tool runs after a refusal
                            reply = {"op": "stop"}
                        else:
                            reply = relay.call_tool(tools, message, before_tool_call)
                    except ToolRefused as refused:
                        refusal = refused.error
                        reply = {"op": "stop"}  # the child's run stops (uncatchable there)
                    finally:
                        tool_time[0] += time.monotonic() - began  # the hook's time included
                    if time.monotonic() - start > self.limits.wall_timeout_s:
                        line = message.get("line")  # the tool ran past the wall deadline
                        raise wall_error(line if type(line) is int else None)
                    self._send(reply)
                elif op == "done":
                    execution = relay.finish(message, state)
                    if refusal is not None:
                        raise clean(refusal)
                    return execution
                elif op == "error":
                    if refusal is not None:
                        raise clean(refusal)
                    raise _rebuild(message.get("error") or {})
        except _Timeout:
            if time.monotonic() - start >= wall_budget:
                raise wall_error() from None
            self.close()
            raise limit_error("timeout_s", f"{self.limits.timeout_s} s; the isolated child was killed", None) from None
        except ChildCrash:
            error = self._crash_error("stopped unexpectedly")
            self.close()
            raise error from None
        except KeyboardInterrupt:
            self.close()
            raise InterpreterError("The run was interrupted (KeyboardInterrupt); the isolated child was stopped.") from None


def _is_error_line(line: str) -> bool:
    """A line naming an exception (``MemoryError``, ``RecursionError: ...``), not a traceback's
    frame, source line or caret line."""
    head = line.split(":", 1)[0]
    name = head.rsplit(".", 1)[-1]
    return head.replace(".", "_").isidentifier() and name[:1].isupper() and head != "Traceback"


def _without_paths(line: str) -> str:
    return re.sub(r"""(?<![\w.])(?:[A-Za-z]:)?[\\/][^\s'"]+""", "<path>", line)


def _text(value) -> str | None:
    return None if value is None else str(value)[:5000]


def _rebuild(fields: dict) -> Exception:
    """Our error from the fields the child reported (never anything else)."""
    kind = fields.get("class")
    line = fields.get("line") if type(fields.get("line")) is int else None
    hint = _text(fields.get("hint"))
    message = _text(fields.get("message")) or ""
    if kind == "RefusedConstructError":
        return RefusedConstructError(_text(fields.get("construct")) or "a construct", line=line, hint=hint)
    if kind == "UndefinedNameError":
        return UndefinedNameError(_text(fields.get("name")) or "?", [str(n) for n in fields.get("defined") or []], line=line)
    if kind == "UnknownToolError":
        return UnknownToolError(_text(fields.get("name")) or "?", [str(n) for n in fields.get("tools") or []], line=line)
    if kind == "LimitExceededError":
        return LimitExceededError(_text(fields.get("limit")) or "?", _text(fields.get("value")), line=line, hint=hint)
    if kind == "SandboxRuntimeError":
        return SandboxRuntimeError(_text(fields.get("exc_type")) or "Exception", _text(fields.get("detail")) or "", line=line)
    if kind == "ToolExecutionError":
        return ToolExecutionError(_text(fields.get("tool")) or "?", _text(fields.get("detail")) or "", line=line)
    if kind == "InterpreterError":
        prefix = f"Line {line}: "
        return InterpreterError(message[len(prefix):] if message.startswith(prefix) else message, line=line, hint=hint)
    return IsolationError(f"The isolated child reported: {message}", hint=hint)
