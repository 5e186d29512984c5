"""nbagents' toolbox served over MCP: ``nbagents mcp serve`` (stdio, or streamable HTTP).

Other MCP clients (desktop assistants, editors, other agents) can then call nbagents' tools:
the default tools that are ready offline (:func:`served_tools`) and the user's own ``@tool``
functions (:func:`load_user_tools`, ``--tools MODULE[:ATTR]``).

What a client sees of a tool (:func:`mcp_tool`):

* its name and its whole description;
* an input schema from its typed inputs (:func:`input_schema`): JSON types, ``required`` for
  the inputs without a default, ``default`` for the others, ``enum`` for ``Literal`` choices,
  ``null`` allowed where the default is ``None``, no other properties;
* annotations where nbagents knows them (:func:`tool_annotations`): the image, audio and text
  tools and the model-backed tools only read (``readOnlyHint``), ``save_audio`` writes a file,
  ``text_downloader`` and remote tools reach the open world; a user's tool has none.

Inputs of image and audio kind are JSON strings: a ``data:`` URI (``data:image/png;base64,...``),
bare base64 data of an encoded file (PNG, JPEG, WAV, FLAC...), or else the path of a file on the
server's machine, read under the same rules as every file tool (no hidden files, size limits;
:func:`nbagents.tools.text.readable_path`). Inputs of ``bytes`` kind are base64.

Results (:func:`call_result`): text becomes ``TextContent``; an ``AgentImage`` ``ImageContent``
(PNG, base64); an ``AgentAudio`` ``AudioContent`` (WAV, base64); a list holding media one block
per item; any other value ``structuredContent`` (a dict as it is, anything else as
``{"result": value}``) plus its JSON as text. A tool that fails (or is called with arguments it
does not take) gives an ``isError`` result whose text is the typed error's message, redacted
(:func:`nbagents.redaction.redact`); an unknown tool name is a protocol error. Each call runs
in a worker thread, so the server keeps answering; a tool declared not thread-safe runs one call
at a time.

Over HTTP the server listens on 127.0.0.1 by default and every request must carry
``Authorization: Bearer <token>`` (a 401 answer otherwise; the token from ``--token``,
``$NBAGENTS_MCP_TOKEN``, or made at random); a host that is not a loopback address is refused
without a token. The ``mcp`` SDK (``nbagents[mcp]``) is imported only here.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import importlib
import importlib.metadata
import importlib.util
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..deps import require
from ..errors import ConfigurationError, NbAgentsError, ToolError, ToolExecutionError, closest_names
from ..interpreter.toolcall import run_tool
from ..redaction import redact, register_secret
from ..results import AgentAudio, AgentImage, AgentType, wrap
from ..tools.base import Tool, Toolbox, as_tool

__all__ = [
    "SERVER_NAME",
    "TOKEN_ENV",
    "served_tools",
    "load_user_tools",
    "input_schema",
    "tool_annotations",
    "mcp_tool",
    "call_result",
    "error_result",
    "ToolServer",
    "is_loopback",
    "serve_stdio",
    "serve_http",
    "serve",
]

logger = logging.getLogger(__name__)

SERVER_NAME = "nbagents"
#: The environment variable ``nbagents mcp serve --http`` reads its token from (so the token
#: need not be on the command line, where other users of the machine can see it).
TOKEN_ENV = "NBAGENTS_MCP_TOKEN"
_PURPOSE = "Serving the toolbox over MCP"
_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array",
               "dict": "object", "image": "string", "audio": "string", "bytes": "string"}
_MEDIA_HELP = {
    "image": "An image: a data: URI, base64 data of an image file (PNG, JPEG...), or the path of an image file.",
    "audio": "Audio: a data: URI, base64 data of a sound file (WAV, FLAC, OGG), or the path of a sound file.",
    "bytes": "Base64 data.",
}
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")


def _types():
    return require("mcp_types", extra="mcp", purpose=_PURPOSE, package="mcp")


# --- which tools -----------------------------------------------------------------------------


def served_tools(user_tools: Iterable[Tool] = (), *, defaults: bool = True, model_tools: str | None = None,
                 cache_dir: Any = None) -> list[Tool]:
    """The tools a server offers: the default tools that are ready here, then ``user_tools``.

    Parameters
    ----------
    user_tools:
        The user's tools; one named like a default tool replaces it.
    defaults:
        Whether to include the default tools at all.
    model_tools:
        Which model-backed default tools to consider (``"auto"``: those whose weights are
        cached; ``"all"``; ``"none"``; default ``$NBAGENTS_MODEL_TOOLS`` or ``"auto"``); of
        those, only the ready ones are served
        (:func:`nbagents.tools.catalogue.entry_for`), so no call downloads anything.
    cache_dir:
        The Hugging Face cache to look in.
    """
    tools: dict[str, Tool] = {}
    if defaults:
        from ..tools.catalogue import entry_for
        from ..tools.defaults import default_tools

        for t in default_tools(model_tools=model_tools, cache_dir=cache_dir):
            if entry_for(t, cache_dir=cache_dir).ready:
                tools[t.name] = t
    for t in user_tools:
        tools[t.name] = t
    return list(tools.values())


def load_user_tools(spec: str) -> list[Tool]:
    """The tools named by ``spec``: ``MODULE`` or ``MODULE:ATTR``.

    ``MODULE`` is a dotted module name (importable from the working directory) or the path of a
    ``.py`` file. ``ATTR`` names a :class:`Tool`, a ``@tool`` function, a list or tuple of them,
    or a :class:`Toolbox`; with no ``ATTR``, every public ``Tool`` in the module is taken.

    Raises
    ------
    ConfigurationError
        The module cannot be imported, has no such attribute, or it holds no tools.
    """
    target, attr = spec, ""
    head, sep, tail = spec.rpartition(":")
    if sep and head and tail.isidentifier():
        target, attr = head, tail
    module = _import(target, spec)
    if not attr:
        found = [v for k, v in vars(module).items() if not k.startswith("_") and isinstance(v, Tool)]
        if not found:
            raise ConfigurationError(f"The module {target!r} holds no tools.",
                                     hint="Decorate functions with @tool, or name one with MODULE:ATTR.")
        return found
    if not hasattr(module, attr):
        names = [k for k in vars(module) if not k.startswith("_")]
        close = closest_names(attr, names)
        raise ConfigurationError(f"The module {target!r} has no attribute {attr!r}."
                                 + (f" Closest: {', '.join(close)}." if close else ""),
                                 hint="--tools takes MODULE:ATTR, ATTR a Tool, a list of Tools or a Toolbox.")
    value = getattr(module, attr)
    if isinstance(value, Mapping):
        value = list(value.values())
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    try:
        return [as_tool(v) for v in items]
    except ConfigurationError as e:
        raise ConfigurationError(f"{spec!r} is not a tool, a list of tools or a Toolbox: {e.message}",
                                 hint=e.hint) from None


def _import(target: str, spec: str):
    path = Path(target).expanduser()
    if target.endswith(".py") or "/" in target or "\\" in target:
        if not path.is_file():
            raise ConfigurationError(f"No Python file at {target!r} (from --tools {spec!r}).")
        name = f"nbagents_user_tools_{path.stem}"
        loader = importlib.util.spec_from_file_location(name, path)
        if loader is None or loader.loader is None:
            raise ConfigurationError(f"{target!r} cannot be imported as a Python module.")
        module = importlib.util.module_from_spec(loader)
        sys.modules[name] = module
        try:
            loader.loader.exec_module(module)
        except Exception as e:
            sys.modules.pop(name, None)
            raise ConfigurationError(f"Importing {target!r} failed: {type(e).__name__}: {e}") from e
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(target)
    except ImportError as e:
        raise ConfigurationError(f"Cannot import the module {target!r}: {e}",
                                 hint="Give a dotted module name importable from here, or a .py file path.") from e


# --- what a client sees of a tool ------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    def fallback(obj: Any) -> Any:
        if hasattr(obj, "tolist"):  # numpy arrays and scalars
            return obj.tolist()
        if isinstance(obj, (set, frozenset)):
            return sorted(obj, key=repr)
        if isinstance(obj, (bytes, bytearray)):
            return base64.b64encode(bytes(obj)).decode("ascii")
        return str(obj)

    return json.loads(json.dumps(value, default=fallback, ensure_ascii=False))


def input_schema(tool: Tool) -> dict:
    """The JSON schema of ``tool``'s inputs (an object; see the module docstring)."""
    properties: dict[str, dict] = {}
    for i in tool.inputs:
        prop: dict[str, Any] = {}
        kind = _JSON_TYPES.get(i.type)
        if kind is not None:
            prop["type"] = [kind, "null"] if (not i.required and i.default is None) else kind
        description = " ".join(p for p in (i.description, _MEDIA_HELP.get(i.type, "")) if p)
        if description:
            prop["description"] = description
        if i.choices:
            prop["enum"] = _jsonable(list(i.choices))
        if not i.required:
            try:
                prop["default"] = _jsonable(i.default)
            except (TypeError, ValueError):  # a default JSON cannot hold: leave it unsaid
                pass
        properties[i.name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    required = [i.name for i in tool.inputs if i.required]
    if required:
        schema["required"] = required
    return schema


def tool_annotations(tool: Tool) -> dict[str, bool] | None:
    """The MCP annotations nbagents knows for ``tool`` (``readOnlyHint``...), else ``None``."""
    from ..tools import audio, pipeline, remote, web
    from ..tools.builtin import BuiltinFunctionTool

    if isinstance(tool, BuiltinFunctionTool):
        if tool.fn is audio.save_audio:  # writes (and may overwrite) a file in the output folder
            return {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True,
                    "openWorldHint": False}
        return {"readOnlyHint": True, "openWorldHint": tool.fn in web.FUNCTIONS}
    if isinstance(tool, remote.RemoteTool):
        return {"readOnlyHint": True, "openWorldHint": True}
    if isinstance(tool, pipeline.PipelineTool):
        return {"readOnlyHint": True, "openWorldHint": False}
    return None


def mcp_tool(tool: Tool):
    """``tool`` as an MCP ``Tool`` (name, description, input schema, annotations)."""
    t = _types()
    hints = tool_annotations(tool)
    annotations = t.ToolAnnotations.model_validate(hints) if hints else None
    return t.Tool(name=tool.name, description=tool.description, input_schema=input_schema(tool),
                  annotations=annotations)


# --- one call --------------------------------------------------------------------------------


def _data(value: str) -> tuple[bytes | None, bool]:
    """``(bytes, bare)`` of a ``data:`` URI or of bare base64 text (``bare``: no URI said it was
    data); ``(None, False)`` for anything else, taken as a path."""
    if value.startswith("data:"):
        header, sep, payload = value.partition(",")
        if not sep or ";base64" not in header:
            raise ToolError("A data: URI must be base64: data:<type>;base64,<data>.")
        try:
            return base64.b64decode(payload), False
        except (binascii.Error, ValueError) as e:
            raise ToolError(f"The data: URI holds no valid base64: {e}.") from None
    try:
        if Path(value).expanduser().exists():
            return None, False
    except (OSError, ValueError):  # too long, or a NUL byte, for a path
        pass
    if len(value) >= 16 and _BASE64.match(value):
        try:
            return base64.b64decode(value), True
        except (binascii.Error, ValueError):
            pass
    return None, False


def _argument(kind: str, name: str, value: Any) -> Any:
    """A JSON argument as the tool takes it (images and audio from data or a path)."""
    if kind not in ("image", "audio", "bytes") or not isinstance(value, str):
        return value
    data, bare = _data(value)
    if kind == "bytes":
        if data is None:
            raise ToolError(f"`{name}` must be base64 data.")
        return data
    from ..tools.audio import as_audio, load_audio
    from ..tools.image import as_image, load_image

    if data is None:
        return load_image(value) if kind == "image" else load_audio(value)
    try:
        return as_image(data, name) if kind == "image" else as_audio(data, name)
    except ToolError as e:
        if not bare:
            raise
        raise ToolError(f"`{name}` is neither the path of a file ({value[:60]!r} is none) nor base64 "
                        f"data of an {kind} file ({e.message}).") from None


def _checked(tool: Tool, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` checked against ``tool``'s inputs (names, required, choices)."""
    inputs = {i.name: i for i in tool.inputs}
    takes = ", ".join(inputs) or "none"
    for key in arguments:
        if key not in inputs:
            close = closest_names(key, inputs)
            raise ToolError(f"The tool {tool.name!r} has no argument {key!r}."
                            + (f" Closest: {', '.join(close)}." if close else ""),
                            hint=f"Its arguments: {takes}.")
    missing = [i.name for i in tool.inputs if i.required and i.name not in arguments]
    if missing:
        raise ToolError(f"The tool {tool.name!r} needs the argument{'s' if len(missing) > 1 else ''} "
                        + ", ".join(repr(m) for m in missing) + ".", hint=f"Its arguments: {takes}.")
    for key, value in arguments.items():
        i = inputs[key]
        if i.choices and value not in i.choices:
            raise ToolError(f"The argument {key!r} of {tool.name!r} must be one of "
                            f"{', '.join(repr(c) for c in i.choices)}; got {value!r}.")
    return dict(arguments)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(_jsonable(value), ensure_ascii=False)


def _block(value: Any):
    t = _types()
    if isinstance(value, AgentImage):
        return t.ImageContent(data=base64.b64encode(value.png_bytes()).decode("ascii"), mime_type="image/png")
    if isinstance(value, AgentAudio):
        return t.AudioContent(data=base64.b64encode(value.wav_bytes()).decode("ascii"), mime_type="audio/wav")
    return t.TextContent(text=_text(value))


def call_result(value: Any):
    """A tool's return value as an MCP ``CallToolResult`` (see the module docstring)."""
    t = _types()
    if isinstance(value, (str, AgentImage, AgentAudio)):
        return t.CallToolResult(content=[_block(value)])
    if isinstance(value, (list, tuple)):
        items = [wrap(v) for v in value]  # a PIL image in a list is an image too
        if any(isinstance(v, (AgentImage, AgentAudio)) for v in items):
            return t.CallToolResult(content=[_block(v) for v in items])
    if isinstance(value, AgentType):
        value = value.to_raw()
    plain = _jsonable(value)
    structured = plain if isinstance(plain, dict) else {"result": plain}
    return t.CallToolResult(content=[t.TextContent(text=_text(plain))], structured_content=structured)


def error_result(error: BaseException):
    """An ``isError`` result holding ``error``'s message, redacted."""
    t = _types()
    if isinstance(error, ToolExecutionError):  # its hint speaks of agent.last_run, not of MCP
        text = error.message
    elif isinstance(error, NbAgentsError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return t.CallToolResult(content=[t.TextContent(text=redact(text))], is_error=True)


def _version() -> str:
    try:
        return importlib.metadata.version("nbagents")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return ""


class ToolServer:
    """The tools behind one MCP server, and the SDK's low-level ``Server`` that serves them.

    Parameters
    ----------
    tools:
        The tools to serve (see :func:`served_tools`); names must be unique.
    before:
        An optional hook called with each call's :class:`~nbagents.interpreter.toolcall.ToolRequest`
        (its ``kwargs`` the JSON arguments the client sent) before the tool runs; raising an
        ``NbAgentsError`` refuses the call (an ``isError`` result with its message).
    """

    def __init__(self, tools: Iterable[Tool], *, before: Callable | None = None) -> None:
        self.toolbox = Toolbox(tools)
        self.before = before
        self._locks = {name: threading.Lock() for name, t in self.toolbox.items() if not t.thread_safe}
        lowlevel = require("mcp.server.lowlevel", extra="mcp", purpose=_PURPOSE, package="mcp")
        self.server = lowlevel.Server(SERVER_NAME, version=_version(),
                                      instructions="nbagents' tools: images, audio, text and local models.",
                                      on_list_tools=self._list_tools, on_call_tool=self._call_tool)

    def call(self, name: str, arguments: Mapping[str, Any] | None):
        """Run the tool ``name`` with JSON ``arguments``; the ``CallToolResult`` (blocking)."""
        tool = self.toolbox[name]
        try:
            kwargs = _checked(tool, arguments or {})
            inputs = {i.name: i for i in tool.inputs}

            def run(**given: Any) -> Any:
                converted = {k: _argument(inputs[k].type, k, v) for k, v in given.items()}
                with self._locks.get(name) or contextlib.nullcontext():
                    return tool(**converted)

            call = run_tool(name, run, (), kwargs, before=self.before)
        except NbAgentsError as e:
            return error_result(e)
        if call.error is not None:
            return error_result(call.error)
        try:
            return call_result(call.value)
        except Exception as e:  # a value that cannot be encoded (a broken image, say)
            return error_result(ToolError(f"The result of the tool {name!r} cannot be sent: "
                                          f"{type(e).__name__}: {e}"))

    async def _list_tools(self, ctx: Any, params: Any):
        return _types().ListToolsResult(tools=[mcp_tool(t) for t in self.toolbox.values()])

    async def _call_tool(self, ctx: Any, params: Any):
        import anyio

        if params.name not in self.toolbox:
            from mcp.shared.exceptions import MCPError

            close = closest_names(params.name, self.toolbox)
            raise MCPError(code=_types().INVALID_PARAMS, message=f"No tool named {params.name!r}."
                           + (f" Closest: {', '.join(close)}." if close else ""))
        return await anyio.to_thread.run_sync(self.call, params.name, params.arguments)


# --- transports ------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def serve_stdio(server: ToolServer) -> None:
    """Serve ``server`` over this process's stdin and stdout until the client closes stdin."""
    stdio = require("mcp.server.stdio", extra="mcp", purpose=_PURPOSE, package="mcp")
    async with stdio.stdio_server() as (read, write):
        await server.server.run(read, write, server.server.create_initialization_options())


class _BearerGate:
    """ASGI middleware: HTTP requests without ``Authorization: Bearer <token>`` get a 401."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                body = json.dumps({"error": "invalid_token",
                                   "error_description": "Send Authorization: Bearer <the server's token>."}).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", b'Bearer error="invalid_token"'),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise ConfigurationError(f"Cannot listen on {host}:{port}: {e.strerror or e}.",
                                 hint="Pick another --port (0 picks a free one).") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve_http(server: ToolServer, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                     on_ready: Callable[[str, str | None], None] | None = None) -> None:
    """Serve ``server`` over streamable HTTP at ``http://host:port/mcp`` until stopped.

    Parameters
    ----------
    host, port:
        Where to listen (``port=0`` picks a free port).
    token:
        The bearer token every request must carry; default ``$NBAGENTS_MCP_TOKEN``, else, on a
        loopback host only, a random one.
    on_ready:
        Called once the socket listens (before the first request) with the URL and the token
        made here (``None`` when it was given).

    Raises
    ------
    ConfigurationError
        A non-loopback host without a token, or a port that cannot be bound.
    """
    token = token or os.environ.get(TOKEN_ENV) or None
    made = None
    if token is None:
        if not is_loopback(host):
            raise ConfigurationError(
                f"Refusing to serve the toolbox on {host!r} without a token: anyone who can reach it could "
                "run the tools with your rights.",
                hint=f"Pass --token (or set ${TOKEN_ENV}), or serve on 127.0.0.1.")
        token = made = secrets.token_urlsafe(24)
    register_secret(token)
    uvicorn = require("uvicorn", extra="mcp", purpose=_PURPOSE)
    app = _BearerGate(server.server.streamable_http_app(host=host), token)
    sock = _bind(host, port)
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    url = f"http://{shown}:{sock.getsockname()[1]}/mcp"
    if on_ready is not None:
        on_ready(url, made)
    logger.info("Serving %d tools at %s", len(server.toolbox), url)
    try:
        await uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).serve(sockets=[sock])
    finally:
        sock.close()


def serve(tools: Iterable[Tool], *, http: bool = False, host: str = "127.0.0.1", port: int = 8765,
          token: str | None = None, on_ready: Callable[[str, str | None], None] | None = None) -> None:
    """Serve ``tools`` until the client leaves (stdio) or the process is stopped (``http``).

    Over stdio (the default) this process's stdin and stdout carry the protocol; with ``http``,
    see :func:`serve_http` for ``host``, ``port``, ``token`` and ``on_ready``.

    Raises
    ------
    ConfigurationError
        No tools, a non-loopback host without a token, or a port that cannot be bound.
    """
    tools = list(tools)
    if not tools:
        raise ConfigurationError("There are no tools to serve.", hint="Pass --tools, or drop --no-default-tools.")
    server = ToolServer(tools)  # a missing SDK is a MissingDependencyError naming the extra here
    import anyio  # the SDK's dependency
    if http:
        anyio.run(lambda: serve_http(server, host=host, port=port, token=token, on_ready=on_ready))
    else:
        anyio.run(serve_stdio, server)
