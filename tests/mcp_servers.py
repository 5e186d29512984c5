"""An MCP server the tests start, written with the SDK's own server class (``MCPServer``).

``python tests/mcp_servers.py stdio`` serves it over stdio; ``python tests/mcp_servers.py http PORT``
over streamable HTTP on 127.0.0.1:PORT (path ``/mcp``) under uvicorn.
Tools: ``paint`` (an enum input, an image answer: a 2x1 PNG made with PIL), ``echo`` (an
optional input with a default), ``nap`` (sleeps: the hanging call), ``fail`` (an error answer)
``stop`` (the process exits), and three with annotations for approvals: ``shred``
(destructive), ``peek`` (read-only, closed-world) and ``look_up`` (read-only, openWorldHint left
to its default: true). The others send no annotations.
"""

from __future__ import annotations

import io
import os
import sys
import time
from typing import Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import ToolAnnotations
from PIL import Image as PILImage

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}

server = MCPServer("nbagents-test")


@server.tool()
def paint(colour: Literal["red", "green", "blue"]) -> Image:
    """Paint a tiny image: its left pixel in the colour, its right pixel white."""
    picture = PILImage.new("RGB", (2, 1), (255, 255, 255))
    picture.putpixel((0, 0), COLOURS[colour])
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return Image(data=buffer.getvalue(), format="png")


@server.tool()
def echo(text: str, times: int = 1) -> str:
    """Repeat the text."""
    return " ".join([text] * times)


@server.tool()
def nap(seconds: float) -> str:
    """Sleep for a number of seconds."""
    time.sleep(seconds)
    return "awake"


@server.tool()
def fail(reason: str) -> str:
    """Always fail with the reason."""
    raise ToolError(f"failed on purpose: {reason}")


@server.tool()
def stop() -> str:
    """Exit the server process at once (the server that dies mid-session)."""
    sys.stderr.write("bye from the test server\n")
    sys.stderr.flush()
    os._exit(5)


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False))
def shred(name: str) -> str:
    """Pretend to shred a document (says so; touches nothing)."""
    return f"shredded {name}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
def peek(name: str) -> str:
    """Look at a document."""
    return f"a look at {name}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def look_up(query: str) -> str:
    """Look something up (elsewhere, the annotations imply)."""
    return f"found {query}"


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        import uvicorn

        uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
