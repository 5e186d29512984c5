"""The default toolbox: tools that need no model first, then model-backed ones (loaded lazily)."""

from __future__ import annotations

from .base import Tool

__all__ = ["default_tools"]


def default_tools() -> list[Tool]:
    """Fresh instances of the default tools (cheap: nothing is loaded until a tool is called)."""
    return []
