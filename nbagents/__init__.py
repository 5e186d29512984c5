"""nbagents: Jupyter-first agents.

A ``%%agent`` cell (or ``Agent.run``) asks a language model for a short Python program that calls
tools, runs it in a restricted interpreter and renders the result inline; the inspector shows the
prompt, the stop sequences, the raw output and the code, and lets you edit and rerun it.

Importing this package is light: torch, transformers, PIL and ipywidgets load only when used.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .agent import Agent
from .compat import AzureOpenAiAgent, HfAgent, LocalAgent, OpenAiAgent
from .engines import Completion, Engine, Sampling, ScriptedEngine, load_engine
from .errors import (
    ConfigurationError,
    EngineError,
    InterpreterError,
    NbAgentsError,
    NoToolError,
    ParseError,
    PromptTooLongError,
    ToolError,
)
from .lazy import lazy_exports
from .prompts import PromptTemplate
from .results import AgentAudio, AgentImage, AgentTable, AgentText
from .runs import Run
from .tools import Tool, Toolbox, tool

__all__ = [
    "Agent",
    "AgentAudio",
    "AgentImage",
    "AgentTable",
    "AgentText",
    "AzureOpenAiAgent",
    "Completion",
    "ConfigurationError",
    "Engine",
    "EngineError",
    "HfAgent",
    "InterpreterError",
    "LocalAgent",
    "NbAgentsError",
    "NoToolError",
    "OpenAiAgent",
    "ParseError",
    "PromptTemplate",
    "PromptTooLongError",
    "Run",
    "Sampling",
    "ScriptedEngine",
    "Secret",
    "Tool",
    "ToolError",
    "Toolbox",
    "__version__",
    "add_tool",
    "get_agent",
    "load_engine",
    "load_ipython_extension",
    "load_tool",
    "mcp_tools",
    "tool",
    "unload_ipython_extension",
]


__getattr__, __dir__ = lazy_exports(__name__, {"Secret": "redaction", "mcp_tools": "mcp.convert"}, globals())


def load_tool(*args, **kwargs):
    """Load a tool by task name, Hub repo id or local folder (see :mod:`nbagents.tools.loading`)."""
    from .tools.loading import load_tool as _load_tool

    return _load_tool(*args, **kwargs)


def add_tool(name, **kwargs):
    """Download a tool's weights (with a progress bar) and return it ready; ``toolbox=agent.toolbox``
    adds it there (see :func:`nbagents.tools.acquire.add_tool`)."""
    from .tools.acquire import add_tool as _add_tool

    return _add_tool(name, **kwargs)


def get_agent(shell=None):
    """The kernel's agent used by the ``%%agent`` magics (``%load_ext nbagents`` first)."""
    from .magics import get_agent as _get_agent

    return _get_agent(shell)


def load_ipython_extension(ipython) -> None:
    """``%load_ext nbagents``: register the ``%%agent``, ``%agent_chat`` and ``%agent`` magics."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "nbagents-labext"}]
