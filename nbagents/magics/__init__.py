"""The notebook interface: ``%%agent``, ``%agent_chat`` and ``%agent``.

Load with ``%load_ext nbagents`` (or ``c.InteractiveShellApp.extensions = ["nbagents"]``).
Settings are traitlets on :class:`AgentMagics` (``%config AgentMagics``). Loading is light: the
agent, its history database and the engine are created on first use, ipywidgets when an inspector
is shown, and torch/transformers only by a local engine.

The modules: :mod:`.session` (settings and state), :mod:`.tasks` (``%%agent``, ``%agent_chat``),
:mod:`.console` (``%agent``) and :mod:`.options` (option parsing). :class:`AgentMagics` joins the
two magic families into the one class IPython registers, so there is one configurable
(``%config AgentMagics``), one agent and one entry in the magics registry.
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic import magics_class

from ..agent import Agent
from ..errors import ConfigurationError
from .console import ConsoleMagics
from .session import AgentSession
from .tasks import TaskMagics, chat_questions

__all__ = ["AgentMagics", "AgentSession", "ConsoleMagics", "TaskMagics", "get_agent",
           "load_ipython_extension", "unload_ipython_extension"]


@magics_class
class AgentMagics(TaskMagics, ConsoleMagics):
    """The ``%%agent``, ``%agent_chat`` and ``%agent`` magics and their settings."""


# magics_class records only the magics defined in the class body; AgentMagics' come from its bases.
AgentMagics.magics = {kind: {**ConsoleMagics.magics[kind], **TaskMagics.magics[kind]}
                      for kind in ("line", "cell")}


def get_agent(shell: Any = None) -> Agent:
    """The agent the magics of this kernel use (``get_agent().engine.queue(...)`` for a fake)."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    magics = shell.magics_manager.registry.get("AgentMagics") if shell is not None else None
    if magics is None:
        raise ConfigurationError("The nbagents extension is not loaded.", hint="Run %load_ext nbagents first.")
    return magics.agent


def load_ipython_extension(ipython) -> None:
    """Register the magics (once per shell)."""
    if "AgentMagics" not in ipython.magics_manager.registry:
        ipython.register_magics(AgentMagics)
        from .. import labcomm

        magics = ipython.magics_manager.registry["AgentMagics"]
        labcomm.register_comm(ipython, status=magics.lab_status)
        magics.start_warm_up()
    cleanup = getattr(ipython, "input_transformers_cleanup", None)
    if cleanup is not None and chat_questions not in cleanup:
        cleanup.append(chat_questions)


def unload_ipython_extension(ipython) -> None:
    cleanup = getattr(ipython, "input_transformers_cleanup", [])
    if chat_questions in cleanup:
        cleanup.remove(chat_questions)
    magics = ipython.magics_manager.registry.pop("AgentMagics", None)
    if magics is None:
        return
    from .. import labcomm

    labcomm.unregister_comm(ipython)
    for kind, names in magics.magics.items():
        for name in names:
            ipython.magics_manager.magics[kind].pop(name, None)
    if magics in getattr(ipython, "configurables", []):
        ipython.configurables.remove(magics)
