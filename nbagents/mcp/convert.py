"""An MCP tool as an nbagents :class:`~nbagents.tools.Tool`, and its answers as results.

Inputs come from the tool's JSON schema: JSON types map to ``str``/``int``/``float``/``bool``/
``list``/``dict``, an ``enum`` becomes the input's ``choices`` (the only literals constrained
decoding writes for it, like a ``Literal[...]`` annotation), required inputs come first and an
optional one takes the schema's ``default`` (else ``None``, and is then not sent). The output is
``dict`` when the tool declares an output schema (its structured content is returned as a plain
value; a schema of one ``result`` property, how SDK servers wrap other values, gives that value
and its type), else ``str``. Content becomes results: text → ``AgentText`` (through the tool's output
type, as the default tools' text does), image → ``AgentImage``, audio → ``AgentAudio``, embedded
text resources → their text; several blocks → a list. An answer with ``isError`` raises
:class:`~nbagents.errors.MCPError` with the server's text.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import MCPError, ToolError
from ..results import AgentAudio, AgentImage, AgentText
from ..tools.base import Tool, ToolInput
from .client import MCPClient

__all__ = ["MCPTool", "mcp_tools", "tool_inputs", "content_value", "python_name", "approval_hints"]

_JSON_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool",
               "array": "list", "object": "dict"}


def python_name(name: str) -> str:
    """``name`` as an identifier a program can call (``get-time`` → ``get_time``)."""
    cleaned = re.sub(r"\W", "_", name)
    return cleaned if re.match(r"^[A-Za-z]", cleaned) else f"mcp_{cleaned}"


def _json_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the non-null one
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind is None and "enum" in schema:
        values = schema["enum"]
        kind = "string" if all(isinstance(v, str) for v in values) else None
    if kind is None:
        options = [s for s in schema.get("anyOf", ()) if isinstance(s, Mapping) and s.get("type") != "null"]
        if len(options) == 1:
            return _json_type(options[0])
    return _JSON_TYPES.get(kind, "any")


def tool_inputs(schema: Mapping[str, Any] | None) -> tuple[ToolInput, ...]:
    """The inputs an MCP input schema declares: required first (in the schema's order), then
    the optional ones with their defaults (``None`` when the schema gives none)."""
    schema = schema or {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    first, rest = [], []
    for name, prop in properties.items():
        prop = prop if isinstance(prop, Mapping) else {}
        choices = tuple(prop.get("enum") or ())
        if not choices and "const" in prop:
            choices = (prop["const"],)
        description = str(prop.get("description") or prop.get("title") or "")
        if name in required:
            first.append(ToolInput(name, _json_type(prop), description, choices=choices))
        else:
            rest.append(ToolInput(name, _json_type(prop), description, prop.get("default"), choices=choices))
    return tuple(first + rest)


def content_value(block: Any) -> Any:
    """One content block of an answer as a value (text, AgentImage, AgentAudio...)."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return AgentText(block.text)
    if kind == "image":
        return AgentImage(base64.b64decode(block.data))
    if kind == "audio":
        return AgentAudio(base64.b64decode(block.data))
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return AgentText(text)
        return base64.b64decode(resource.blob)
    if kind == "resource_link":
        return AgentText(str(block.uri))
    return block


def approval_hints(annotations: Any) -> tuple[bool, bool]:
    """``(destructive, open_world)`` for approvals, from a tool's MCP annotations.

    An annotations object is read as the MCP spec defines it: ``destructiveHint`` defaults to
    true and counts only when ``readOnlyHint`` is not true; ``openWorldHint`` defaults to true
    (a read-only tool may still reach the outside world). A tool with no annotations object at
    all has said nothing, and is neither (its default policy is ``allow``, like a Python tool's).
    """
    if annotations is None:
        return False, False
    read_only = getattr(annotations, "read_only_hint", None) is True
    destructive = not read_only and getattr(annotations, "destructive_hint", None) is not False
    return destructive, getattr(annotations, "open_world_hint", None) is not False


def _wrapped(schema: Mapping[str, Any] | None) -> bool:
    """Whether an output schema is a single ``result`` property: how the SDK's servers wrap a
    return value that is not an object."""
    properties = (schema or {}).get("properties") or {}
    return set(properties) == {"result"} and isinstance(properties["result"], Mapping)


def _output_type(schema: Mapping[str, Any] | None) -> str:
    """``str`` without an output schema (content is text, mostly), the wrapped value's type for
    a wrapped one, else ``dict``."""
    if not schema:
        return "str"
    if _wrapped(schema):
        return _json_type(schema["properties"]["result"])
    return "dict"


def _error_text(result: Any) -> str:
    texts = [b.text for b in (result.content or ()) if getattr(b, "type", None) == "text"]
    return " ".join(" ".join(texts).split())[:2000] or "(no message)"


class MCPTool(Tool):
    """One tool of an MCP server, called through its :class:`~.client.MCPClient`.

    ``name`` is the MCP name made an identifier; ``remote_name`` the name sent to the server;
    ``source`` is ``"mcp:<server>"`` (what ``%agent tools`` shows); ``annotations`` the server's
    hints (``read_only_hint``, ``destructive_hint``, ``open_world_hint`` ...) as a dict, and
    ``destructive`` / ``open_world`` what they mean for approvals (:func:`approval_hints`): a tool
    that is either starts with the policy ``ask``.
    """

    def __init__(self, client: MCPClient, spec: Any, *, timeout_s: float | None = None,
                 output_type: str | None = None) -> None:
        self.client = client
        self.remote_name = spec.name
        self.name = python_name(spec.name)
        self.description = " ".join((spec.description or getattr(spec, "title", None)
                                     or f"The {spec.name} tool of the MCP server {client.name}.").split())
        self.inputs = tool_inputs(spec.input_schema)
        self.output_schema = spec.output_schema
        self.output_type = output_type or _output_type(spec.output_schema)
        annotations = getattr(spec, "annotations", None)
        self.annotations = annotations.model_dump(exclude_none=True) if annotations is not None else {}
        self.destructive, self.open_world = approval_hints(annotations)
        self.timeout_s = timeout_s
        self.source = f"mcp:{client.name}"
        super().__init__()

    def save(self, folder: Any) -> Any:
        """MCP tools are not saved: their code is the server's."""
        raise ToolError(f"The tool {self.name!r} comes from the MCP server {self.client.name!r} and cannot be saved.",
                        hint="Keep the server's command or URL (e.g. in ~/.nbagents/mcp.json) instead.")

    def bind(self, args: tuple, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON arguments for the call: positional ones by the inputs' order; optional inputs
        left out (or ``None`` without a schema default) are not sent."""
        bound = self.bind_arguments(args, kwargs)
        optional = {i.name for i in self.inputs if not i.required}
        return {k: _plain(v) for k, v in bound.items() if not (v is None and k in optional)}

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        result = self.client.call_tool(self.remote_name, self.bind(args, kwargs), timeout_s=self.timeout_s)
        if result.is_error:
            raise self.client.error(f"the tool {self.remote_name!r} answered with an error: {_error_text(result)}",
                                    stderr=False)
        structured = result.structured_content
        if structured is not None:
            if _wrapped(self.output_schema) and isinstance(structured, dict) and set(structured) == {"result"}:
                return structured["result"]
            return structured
        values = [content_value(b) for b in result.content or ()]
        if not values:
            return None
        return values[0] if len(values) == 1 else values


def _plain(value: Any) -> Any:
    """A value JSON can carry (tuples as lists, keys as strings)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def mcp_tools(server: str | Sequence[str], *, env: Mapping[str, str] | None = None,
              headers: Mapping[str, str] | None = None, timeout_s: float = 30.0, name: str | None = None,
              cwd: str | None = None, output_types: Mapping[str, str] | None = None) -> list[Tool]:
    """Connect to an MCP server and return its tools.

    Parameters
    ----------
    server:
        A command for a stdio server (a list, or a string split like a shell would, e.g.
        ``"python -m mcp_server_time"``) or an ``http(s)://`` URL for streamable HTTP.
    env:
        Extra environment variables for a stdio server.
    headers:
        HTTP headers for a URL (e.g. an ``Authorization`` header).
    timeout_s:
        Seconds the start and each call may take; past it a call raises :class:`MCPError`.
    name:
        The server's name in errors and ``%agent tools`` (default: the program, module or host).
    cwd:
        The working directory of a stdio server.
    output_types:
        Tool name → output type (``"image"``, ``"audio"``...), for tools whose answers the
        server does not describe.

    Returns
    -------
    list[Tool]
        One :class:`MCPTool` per server tool; add them with ``agent.toolbox.add(t)``. The server
        keeps running until ``tools[0].client.close()`` or the interpreter exits.

    Raises
    ------
    MCPError
        The server did not start, exited, timed out or answered with something malformed; the
        message names it and shows the tail of its stderr.
    """
    client = MCPClient(server, name=name, env=env, headers=headers, timeout_s=timeout_s, cwd=cwd).start()
    try:
        specs = client.list_tools()
        output_types = dict(output_types or {})
        return [MCPTool(client, spec, output_type=output_types.get(spec.name)) for spec in specs]
    except ToolError as e:
        client.close()
        if isinstance(e, MCPError):
            raise
        raise client.error(f"a tool it lists cannot be used: {e.message}") from None
