"""The MCP servers file: the servers whose tools the notebook's agent gets at its first use.

The path is ``$NBAGENTS_MCP_CONFIG``, else ``~/.nbagents/mcp.json``. The format is the one Claude
Desktop, Jupyter AI and VS Code use::

    {"mcpServers": {
        "time": {"command": "python", "args": ["-m", "mcp_server_time"], "env": {"TZ": "UTC"}},
        "docs": {"url": "http://127.0.0.1:8765/mcp", "headers": {"Authorization": "Bearer ..."}}
    }}

(``"servers"`` is read too, VS Code's key). An entry may set ``"timeout_s"`` and
``"disabled": true``. A file or entry that cannot be used is a :class:`MCPConfigWarning` naming
it, never an exception: the agent starts with the other servers' tools.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NbAgentsError

__all__ = ["MCPConfigWarning", "ServerSpec", "config_path", "load_config", "configured_tools"]

_started: dict[tuple, list] = {}
_lock = threading.Lock()


class MCPConfigWarning(UserWarning):
    """An MCP servers file or one of its entries cannot be used (the others still are)."""


@dataclass(frozen=True)
class ServerSpec:
    """One server of the file: a stdio ``command`` (+ ``args``, ``env``) or a ``url`` (+ ``headers``)."""

    name: str
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0

    @property
    def key(self) -> tuple:
        return (self.name, self.command, tuple(sorted(self.env.items())), self.url,
                tuple(sorted(self.headers.items())), self.timeout_s)


def config_path() -> Path:
    """``$NBAGENTS_MCP_CONFIG`` or ``~/.nbagents/mcp.json``."""
    return Path(os.environ.get("NBAGENTS_MCP_CONFIG") or Path.home() / ".nbagents" / "mcp.json").expanduser()


def _warn(text: str) -> None:
    warnings.warn(text, MCPConfigWarning, stacklevel=3)


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be an object of strings")
    return {str(k): str(v) for k, v in value.items()}


def _spec(name: str, entry: Any) -> ServerSpec | None:
    if not isinstance(entry, Mapping):
        raise ValueError("an entry must be an object with \"command\" or \"url\"")
    if entry.get("disabled"):
        return None
    timeout = float(entry.get("timeout_s", 30.0))
    if entry.get("url"):
        return ServerSpec(name, url=str(entry["url"]), headers=_strings(entry.get("headers"), "headers"),
                          timeout_s=timeout)
    command = entry.get("command")
    if not command or not isinstance(command, str):
        raise ValueError("it has neither a \"command\" (a string) nor a \"url\"")
    args = entry.get("args") or []
    if not isinstance(args, list):
        raise ValueError("\"args\" must be a list of strings")
    return ServerSpec(name, command=(command, *map(str, args)), env=_strings(entry.get("env"), "env"),
                      timeout_s=timeout)


def load_config(path: str | os.PathLike | None = None) -> list[ServerSpec]:
    """The servers of the file (none when it does not exist); each unusable entry is a warning."""
    path = Path(path) if path is not None else config_path()
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        _warn(f"The MCP servers file {path} cannot be read, so none of its servers is used: {e}.")
        return []
    servers = data.get("mcpServers", data.get("servers")) if isinstance(data, Mapping) else None
    if not isinstance(servers, Mapping):
        _warn(f"The MCP servers file {path} has no \"mcpServers\" object; no server is used.")
        return []
    specs = []
    for name, entry in servers.items():
        try:
            spec = _spec(str(name), entry)
        except (TypeError, ValueError) as e:
            _warn(f"The MCP server {name!r} in {path} is skipped: {e}.")
            continue
        if spec is not None:
            specs.append(spec)
    return specs


def configured_tools(path: str | os.PathLike | None = None) -> list:
    """The tools of every server in the file, each server started once per process (a server
    that fails is a warning with its error, and the others still come)."""
    from .convert import mcp_tools

    tools = []
    for spec in load_config(path):
        with _lock:
            found = _started.get(spec.key)
            if found is None or not all(t.client.is_open for t in found[:1]):
                try:
                    found = mcp_tools(spec.url or list(spec.command), env=spec.env, headers=spec.headers,
                                      timeout_s=spec.timeout_s, name=spec.name)
                except NbAgentsError as e:
                    _warn(f"The MCP server {spec.name!r} of {path or config_path()} is skipped: {e}")
                    continue
                _started[spec.key] = found
        tools.extend(found)
    return tools
