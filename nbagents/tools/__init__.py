"""Tools, the toolbox, the default tools and tool loading."""

from .base import FunctionTool, Tool, Toolbox, ToolInput, tool
from .defaults import default_tools

__all__ = [
    "FunctionTool",
    "PipelineTool",
    "RemoteTool",
    "Tool",
    "ToolInput",
    "Toolbox",
    "default_tools",
    "load_tool",
    "tool",
]


def __getattr__(name: str):
    # The loaders and model-tool bases import transformers/httpx lazily; keep `import` light.
    if name == "load_tool":
        from .loading import load_tool

        return load_tool
    if name == "PipelineTool":
        from .pipeline import PipelineTool

        return PipelineTool
    if name == "RemoteTool":
        from .remote import RemoteTool

        return RemoteTool
    raise AttributeError(f"module 'nbagents.tools' has no attribute {name!r}")
