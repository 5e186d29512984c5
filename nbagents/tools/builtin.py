"""The tools of nbagents that need no model (image, audio, text and web functions), as tools
that save their name rather than their code."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .base import FunctionTool
from .declaration import save_declaration

__all__ = ["BuiltinFunctionTool", "builtin_tool"]


class BuiltinFunctionTool(FunctionTool):
    """A tool of nbagents that needs no model; ``save()`` writes its name, not its code."""

    def save(self, folder: str | os.PathLike) -> Path:
        return save_declaration(self, folder, builtin=self.name)


def builtin_tool(fn: Callable) -> BuiltinFunctionTool:
    """A :class:`BuiltinFunctionTool` from one of nbagents' own tool functions."""
    return BuiltinFunctionTool(fn)
