"""MCP (Model Context Protocol): other servers' tools in the toolbox.

:func:`mcp_tools` connects to one server (a command for stdio, an ``http(s)://`` URL for
streamable HTTP) and returns its tools as :class:`~nbagents.tools.Tool` objects. The modules:
:mod:`.loop` (the one background event loop every connection runs on), :mod:`.client` (a
connection to one server), :mod:`.convert` (an MCP tool as a ``Tool``, its content as results)
and :mod:`.config` (the servers file read by the magics). The ``mcp`` SDK (``nbagents[mcp]``) is
imported only when a server is connected; importing this package stays light.
"""

from __future__ import annotations

from ..lazy import lazy_exports

__all__ = ["MCPClient", "MCPTool", "mcp_tools", "load_config", "config_path", "ServerSpec"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "MCPClient": "client", "MCPTool": "convert", "mcp_tools": "convert",
    "load_config": "config", "config_path": "config", "ServerSpec": "config",
}, globals())
