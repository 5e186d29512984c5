"""A connection to one MCP server: stdio (a command) or streamable HTTP (an ``http(s)://`` URL).

The SDK's session lives in one task on the background loop (:mod:`.loop`), entered and left in
that task as its context managers require; calls from the kernel's threads are handed to it with
a timeout each. A stdio server's stderr goes to a temporary file whose tail (the last
:data:`STDERR_TAIL` characters) every error shows. Connections are closed by :meth:`close`, and
all those still open at interpreter exit (a kernel shutting down) by an ``atexit`` hook.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shlex
import tempfile
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..deps import require
from ..errors import MCPError
from .loop import background_loop, run

__all__ = ["MCPClient", "STDERR_TAIL", "server_name", "split_command"]

STDERR_TAIL = 2_000
_LAUNCHERS = {"python", "python3", "uv", "uvx", "npx", "node", "pipx", "run", "tool"}
_OPEN: weakref.WeakSet[MCPClient] = weakref.WeakSet()


def split_command(server: str | Sequence[str]) -> list[str]:
    """A stdio command as a list: a string is split like a POSIX shell would."""
    parts = shlex.split(server) if isinstance(server, str) else [str(p) for p in server]
    if not parts:
        raise MCPError("(none)", "the server command is empty.",
                       hint="Give a command such as 'python -m mcp_server_time' or an http(s):// URL.")
    return parts


def server_name(server: str | Sequence[str]) -> str:
    """A short name for a server: the host of a URL, the module after ``-m``, or the program
    (the first argument after a launcher such as ``uvx`` or ``npx``)."""
    if isinstance(server, str) and _is_url(server):
        parts = urlsplit(server)
        return parts.netloc or server
    parts = split_command(server)
    if "-c" in parts[1:]:
        return f"{Path(parts[0]).name} -c"
    if "-m" in parts[:-1]:
        return parts[parts.index("-m") + 1]
    words = [p for p in parts[1:] if not p.startswith("-")]
    program = Path(parts[0]).name
    if (program in _LAUNCHERS or program.startswith("python")) and words:
        return Path(words[0]).name
    return program


def _is_url(server: Any) -> bool:
    return isinstance(server, str) and server.strip().lower().startswith(("http://", "https://"))


class MCPClient:
    """One MCP server connection.

    Parameters
    ----------
    server:
        A command (a list, or a string split like a shell would) for a stdio server, or an
        ``http(s)://`` URL for a streamable-HTTP server.
    name:
        The name errors and ``%agent tools`` show (default: :func:`server_name`).
    env:
        Extra environment variables for a stdio server (over the SDK's safe default set).
    headers:
        HTTP headers for a URL server (e.g. ``{"Authorization": "Bearer ..."}``).
    timeout_s:
        Seconds each call (and the start: launch, ``initialize``) may take.
    cwd:
        The working directory of a stdio server.
    """

    def __init__(self, server: str | Sequence[str], *, name: str | None = None,
                 env: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                 timeout_s: float = 30.0, cwd: str | os.PathLike | None = None) -> None:
        self.url = server.strip() if _is_url(server) else None
        self.command = None if self.url else split_command(server)
        self.name = name or server_name(server)
        self.env = dict(env or {})
        self.headers = dict(headers or {})
        self.timeout_s = float(timeout_s)
        self.cwd = cwd
        self._session: Any = None
        self._task: asyncio.Task | None = None
        self._stop: asyncio.Event | None = None
        self._errlog = None
        self._lock = threading.Lock()
        self._malformed = ""
        self.server_info: dict = {}

    def __repr__(self) -> str:
        where = self.url or shlex.join(self.command or [])
        return f"<MCPClient {self.name!r} {where} {'open' if self.is_open else 'closed'}>"

    @property
    def is_open(self) -> bool:
        return self._session is not None and self._task is not None and not self._task.done()

    # --- stderr ------------------------------------------------------------------------------

    def stderr_size(self) -> int:
        """How many bytes the server has written on stderr so far (0 for URLs)."""
        try:
            return os.fstat(self._errlog.fileno()).st_size if self._errlog is not None else 0
        except (OSError, ValueError):
            return 0

    def stderr_tail(self, since: int = 0) -> str:
        """The last :data:`STDERR_TAIL` characters the server wrote on stderr after byte
        ``since`` ('' for URLs)."""
        log = self._errlog
        if log is None:
            return ""
        try:
            size = os.fstat(log.fileno()).st_size
            start = max(since, size - STDERR_TAIL)
            return os.pread(log.fileno(), max(0, size - start), start).decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def error(self, message: str, *, hint: str | None = None, since: int = 0,
              stderr: bool = True) -> MCPError:
        """An :class:`MCPError` naming this server, with its stderr tail (what it wrote after
        byte ``since``; none when ``stderr`` is false)."""
        return MCPError(self.name, message, stderr=self.stderr_tail(since) if stderr else "", hint=hint)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> MCPClient:
        """Launch or connect, and ``initialize``; raise :class:`MCPError` when it fails."""
        with self._lock:
            if self.is_open:
                return self
            require("mcp", extra="mcp", purpose="MCP tools")
            if self.command is not None:
                self._errlog = tempfile.TemporaryFile()
            ready: asyncio.Future | None = None

            async def launch():
                nonlocal ready
                ready = asyncio.get_running_loop().create_future()
                self._stop = asyncio.Event()
                self._task = asyncio.ensure_future(self._serve(ready))
                return await ready

            try:
                run(launch(), self.timeout_s)
            except TimeoutError:
                error = self.error(f"did not finish starting within {self.timeout_s:g} s.",
                                   hint="Check that the command starts an MCP server on stdio (or the "
                                        "URL serves MCP), or raise timeout_s=.")
            except Exception as e:  # noqa: BLE001 - what the SDK or the OS raised at start
                error = self.error(f"failed to start: {_describe(e)}", hint=self._start_hint(e))
            else:
                _OPEN.add(self)
                return self
            self._cancel()
            self._close_log()
            raise error

    def _start_hint(self, exc: BaseException) -> str:
        if self._malformed:
            return "A stdio server must write only MCP (JSON-RPC) messages on stdout; logs go to stderr."
        if isinstance(exc, FileNotFoundError) and self.command:
            return f"No program {self.command[0]!r} on PATH: install it or give its full path."
        if self.url:
            return f"Check that an MCP server answers at {self.url} (streamable HTTP)."
        return "Run the command in a terminal to see why it stops; a stdio server must keep running."

    async def _serve(self, ready: asyncio.Future) -> None:
        from mcp import ClientSession

        try:
            async with contextlib.AsyncExitStack() as stack:
                streams = await stack.enter_async_context(self._transport())
                async def on_message(message) -> None:
                    if isinstance(message, Exception):  # a line that is not a JSON-RPC message
                        self._malformed = _malformed(message)
                        if not ready.done():
                            ready.set_exception(RuntimeError(f"it sent a malformed message: {self._malformed}"))

                session = await stack.enter_async_context(
                    ClientSession(streams[0], streams[1], message_handler=on_message))
                info = await session.initialize()
                self.server_info = {"name": info.server_info.name, "version": info.server_info.version}
                self._session = session
                if not ready.done():
                    ready.set_result(None)
                await self._stop.wait()
        except BaseException as e:  # noqa: BLE001 - reported to start() or to the next call
            if not ready.done():
                ready.set_exception(e if isinstance(e, Exception) else RuntimeError(_describe(e)))
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            self._session = None
            if not ready.done():
                ready.set_exception(RuntimeError("the connection ended before initialize finished"))

    def _transport(self):
        if self.url is not None:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            return streamable_http_client(self.url, http_client=create_mcp_http_client(headers=self.headers))
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=self.command[0], args=self.command[1:], env=self.env or None,
                                       cwd=str(self.cwd) if self.cwd else None)
        return stdio_client(params, errlog=self._errlog)

    def _cancel(self) -> None:
        task = self._task
        if task is not None and not task.done():
            background_loop().call_soon_threadsafe(task.cancel)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the server (stdio) or end the session (HTTP); safe to call twice."""
        task, stop = self._task, self._stop
        if task is not None and not task.done() and stop is not None:
            async def finish():
                stop.set()
                await asyncio.wait({task}, timeout=timeout_s)
                if not task.done():
                    task.cancel()

            with contextlib.suppress(Exception):
                run(finish(), timeout_s + 1)
        self._task = None
        _OPEN.discard(self)
        self._close_log()

    def _close_log(self) -> None:
        if self._errlog is not None:
            with contextlib.suppress(OSError):
                self._errlog.close()
            self._errlog = None

    def __enter__(self) -> MCPClient:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests ----------------------------------------------------------------------------

    def _request(self, what: str, make, timeout_s: float | None = None):
        if not self.is_open:
            if self._task is None:
                self.start()
            else:
                raise self.error(f"{what}: the server has exited or the connection closed.",
                                 hint="Add its tools again (mcp_tools(...) or %agent tools add mcp ...).")
        timeout = self.timeout_s if timeout_s is None else float(timeout_s)
        session, since = self._session, self.stderr_size()
        try:
            return run(make(session), timeout)
        except TimeoutError:
            bad = f" It sent a malformed message: {self._malformed}." if self._malformed else ""
            raise self.error(f"{what}: no answer within {timeout:g} s.{bad}", since=since,
                             hint="The server may be stuck; raise timeout_s= if the call is slow.") from None
        except MCPError:
            raise
        except Exception as e:  # noqa: BLE001 - a transport, protocol or SDK failure
            closed = getattr(getattr(e, "error", None), "code", None) == _connection_closed()
            hint = None
            if closed or not self.is_open:
                state = "the server has exited or closed the connection"
                hint = "Add its tools again (mcp_tools(...) or %agent tools add mcp ...) to restart it."
            elif self._malformed:
                state = f"the server sent a malformed message ({self._malformed})"
            else:
                state = "the server answered with an error"
            raise self.error(f"{what}: {state}: {_describe(e)}", since=since, hint=hint) from None

    def list_tools(self) -> list:
        """The server's tools (the SDK's ``Tool`` objects), all pages."""
        async def listing(session):
            tools, cursor = [], None
            while True:
                from mcp_types import PaginatedRequestParams

                result = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
                tools.extend(result.tools)
                cursor = result.next_cursor
                if not cursor:
                    return tools

        return self._request("listing tools", listing)

    def call_tool(self, name: str, arguments: Mapping[str, Any], *, timeout_s: float | None = None):
        """Call the tool ``name``; the SDK's ``CallToolResult``."""
        return self._request(f"calling {name!r}", lambda s: s.call_tool(name, dict(arguments)), timeout_s)


def _malformed(exc: Exception) -> str:
    """What was wrong with a line the server wrote: the line itself where the parser kept it."""
    errors = getattr(exc, "errors", None)
    try:
        line = errors()[0].get("input") if callable(errors) else None
    except Exception:  # noqa: BLE001 - only for the message
        line = None
    if isinstance(line, str):
        return f"the line {line[:200]!r} is not JSON-RPC"
    return _describe(exc)[:300]


def _connection_closed() -> int | None:
    from mcp_types import CONNECTION_CLOSED

    return CONNECTION_CLOSED


def _describe(exc: BaseException) -> str:
    """One line for an exception, looking inside exception groups (anyio's task groups)."""
    while getattr(exc, "exceptions", None):  # an exception group (3.11's, or the backport's)
        exc = exc.exceptions[0]
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"


@atexit.register
def _close_all() -> None:
    for client in list(_OPEN):
        with contextlib.suppress(Exception):
            client.close(timeout_s=2.0)
