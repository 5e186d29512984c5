"""Tools a user would serve with ``nbagents mcp serve --tools tests/mcp_server_tools.py:TOOLS``
(tests/test_mcp_server.py)."""

from typing import Literal

from PIL import Image

from nbagents import Toolbox, tool


@tool
def shout(text: str, times: int = 1, style: Literal["upper", "title"] = "upper") -> str:
    """Shout `text`, `times` times.

    Args:
        text: what to shout
        times: how many times
        style: upper case or title case
    """
    said = text.upper() if style == "upper" else text.title()
    return " ".join([said] * times)


@tool
def square_facts(n: int, label: str | None = None) -> dict:
    """The square and the cube of `n`."""
    return {"n": n, "square": n * n, "cube": n ** 3, "label": label}


@tool
def checkerboard(side: int) -> Image.Image:
    """A `side` x `side` black-and-white checkerboard (one pixel per square)."""
    image = Image.new("L", (side, side))
    image.putdata([255 * ((x + y) % 2) for y in range(side) for x in range(side)])
    return image


@tool
def captioned_board(side: int) -> list:
    """A checkerboard of `side` pixels and its caption."""
    return [checkerboard(side=side).to_raw(), f"a {side}x{side} board"]


@tool
def fail_loudly(reason: str) -> str:
    """Always fails, saying `reason`."""
    raise ValueError(f"refused because {reason}; the key was hf_abcdefghijklmnopqrstuvwxyz")


TOOLS = [shout, square_facts, checkerboard, captioned_board, fail_loudly]
BOX = Toolbox([shout, square_facts])
