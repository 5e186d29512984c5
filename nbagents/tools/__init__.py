"""Tools, the toolbox and the default tools."""

from .base import FunctionTool, Tool, Toolbox, ToolInput, tool
from .defaults import default_tools

__all__ = ["FunctionTool", "Tool", "ToolInput", "Toolbox", "default_tools", "tool"]
