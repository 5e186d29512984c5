"""Tools defined in a module, for the interpreter's escape tests (their globals include ``os``)."""

from __future__ import annotations

import os
import subprocess  # noqa: F401 - a tempting global for escape attempts

SECRET = "module-secret"


def search(query, limit=3):
    """Return fake search results."""
    return [f"{query} {i}" for i in range(limit)]


def failing_tool(*args):
    """Always fails."""
    raise ValueError("tool failure")


def get_function():
    """Returns a dangerous host callable (must stay an opaque handle)."""
    return os.system


class Picture:
    def __init__(self):
        self.path = "/tmp/picture.png"


def make_image():
    """Returns a non-plain object."""
    return Picture()


TOOLS = {
    "search": search,
    "failing_tool": failing_tool,
    "get_function": get_function,
    "make_image": make_image,
}
