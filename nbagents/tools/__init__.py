"""Tools, the toolbox, the default tools and tool loading."""

from ..lazy import lazy_exports
from .base import FunctionTool, Tool, Toolbox, ToolInput, tool
from .defaults import default_tools

__all__ = [
    "FunctionTool",
    "PipelineTool",
    "RemoteTool",
    "Tool",
    "ToolInput",
    "ToolEntry",
    "Toolbox",
    "add_tool",
    "default_tools",
    "load_tool",
    "tool",
]

# The loaders and model-tool bases import transformers/httpx lazily; keep `import` light.
# (The catalogue function is `nbagents.tools.catalogue.catalogue`: its module has the same name.)
__getattr__, __dir__ = lazy_exports(__name__, {"load_tool": "loading", "PipelineTool": "pipeline",
                                               "RemoteTool": "remote", "add_tool": "acquire",
                                               "ToolEntry": "catalogue"}, globals())
