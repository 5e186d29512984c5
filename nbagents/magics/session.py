"""The state behind the magics: their settings (traitlets), the kernel's agent, the history
database, the inspector and the JupyterLab status. :class:`AgentSession` is the base of the two
magic families (:mod:`.tasks` and :mod:`.console`); :class:`~nbagents.magics.AgentMagics` joins them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from IPython.core.magic import Magics
from traitlets import Bool, Enum, Integer, TraitError, Unicode, observe, validate

from ..agent import WARM_UP_ENV, Agent
from ..history import HistoryStore
from ..runs import Run

__all__ = ["AgentSession"]

log = logging.getLogger("nbagents")


def _warm(agent: Callable[[], Agent]) -> None:
    """The warm-up thread's body: a failure is only logged; the first task meets it again, typed."""
    try:
        seconds = agent().warm_up()
        log.info("nbagents warmed up: %s", ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()))
    except Exception:  # the first %%agent cell reports whatever this was
        log.info("The nbagents warm-up did not finish.", exc_info=True)


class AgentSession(Magics):
    """Settings and state shared by the magics; the agent and the store are created on first use."""

    default_engine = Unicode(
        "default",
        help="The engine spec the kernel's agent starts with: default (the embedded model), "
             "local:<id or path>, endpoint:<url>, openai:<model>, fake:<file>.",
    ).tag(config=True)
    max_new_tokens = Integer(256, help="The most tokens the model may write per answer.").tag(config=True)
    isolation = Enum(
        ("none", "process"), "none",
        help="Where agent code runs: 'none' (the kernel's restricted interpreter) or 'process' "
             "(a separate, resource-limited process).",
    ).tag(config=True)
    stream = Bool(True, help="Show the model's output in the cell while it is written.").tag(config=True)
    history_path = Unicode(
        "",
        help="The SQLite file that keeps every run. Empty: $NBAGENTS_HISTORY_DB, else "
             "<user data dir>/nbagents/history.sqlite.",
    ).tag(config=True)

    warm_up = Bool(
        True,
        help="Get the kernel's agent ready in the background at %load_ext (load the local model and "
             "the tool router, run the prompt's fixed part once), so the first %%agent cell finds it "
             "ready. $NBAGENTS_WARM_UP=0 turns it off too.",
    ).tag(config=True)

    def __init__(self, shell=None, **kwargs: Any) -> None:
        # set before the config is loaded: the observers below run while it is
        self._agent: Agent | None = None
        self.warm_up_thread: threading.Thread | None = None
        self._agent_lock = threading.RLock()
        self._store: HistoryStore | None = None
        self.input_values: OrderedDict[str, Mapping[str, Any]] = OrderedDict()
        super().__init__(shell=shell, **kwargs)

    # --- state ----------------------------------------------------------------------------------

    @property
    def store(self) -> HistoryStore:
        """The history database (opened on first use)."""
        if self._store is None:
            self._store = HistoryStore(self.history_path or None)
        return self._store

    @property
    def agent(self) -> Agent:
        """The kernel's agent, created from the settings on first use."""
        with self._agent_lock:  # the warm-up thread may be making it
            return self._make_agent()

    def _make_agent(self) -> Agent:
        if self._agent is None:
            self._agent = Agent(engine=self.default_engine or None, max_new_tokens=self.max_new_tokens,
                                isolation=self.isolation, store=self.store)
            from ..mcp.config import configured_tools  # the servers of ~/.nbagents/mcp.json

            for t in configured_tools():
                self._agent.toolbox.add(t)
        return self._agent

    def start_warm_up(self) -> threading.Thread | None:
        """Warm the kernel's agent up in a daemon thread (:meth:`Agent.warm_up`), unless
        :attr:`warm_up` or ``$NBAGENTS_WARM_UP`` says not to, or the engine is not a local one (a
        server needs no loading, and a request would cost). Returns the thread, or ``None``."""
        if not self.warm_up or os.environ.get(WARM_UP_ENV, "1").strip().lower() in ("0", "off", "false", "no"):
            return None
        spec = (self.default_engine or "default").strip()
        if spec != "default" and not spec.startswith("local:"):
            return None
        thread = threading.Thread(target=_warm, args=(lambda: self.agent,), name="nbagents-warm-up", daemon=True)
        thread.start()
        self.warm_up_thread = thread
        return thread

    def reset(self) -> None:
        """Forget the agent (engine, chat, this session's runs) and reopen the history database
        (its runs stay) at the configured path."""
        self._agent = None
        self.input_values.clear()
        if self._store is not None:
            self._store.close()
            self._store = None
        self._notify_lab()

    @validate("max_new_tokens")
    def _check_max_new_tokens(self, proposal):
        if proposal["value"] < 1:
            raise TraitError("max_new_tokens must be at least 1.")
        return proposal["value"]

    @observe("default_engine")
    def _default_engine_changed(self, change) -> None:
        if self._agent is not None:
            self._agent.engine = change["new"] or None
        self._notify_lab()

    @observe("max_new_tokens")
    def _max_new_tokens_changed(self, change) -> None:
        if self._agent is not None:
            self._agent.max_new_tokens = change["new"]

    @observe("isolation")
    def _isolation_changed(self, change) -> None:
        if self._agent is not None:
            self._agent.isolation = change["new"]

    @observe("history_path")
    def _history_path_changed(self, change) -> None:
        if self._store is not None:
            self._store.close()
        self._store = None
        if self._agent is not None:
            self._agent.store = self.store

    # --- JupyterLab -----------------------------------------------------------------------------

    def lab_status(self) -> dict[str, Any]:
        """The engine status for the JupyterLab status bar (never loads a model)."""
        agent = self._agent
        engine = agent.created_engine if agent is not None else None
        if engine is None:
            spec = agent.engine_spec if agent is not None else (self.default_engine or "default")
            return {"engine": spec, "model_id": "", "loaded": False}
        return {"engine": engine.spec or "default", "model_id": engine.model_id, "loaded": engine.loaded}

    @staticmethod
    def _notify_lab() -> None:
        from .. import labcomm

        labcomm.notify_status()

    # --- the inspector --------------------------------------------------------------------------

    def _inspector(self, run: Run | None, *, editing: bool = False, output: str | None = None):
        from ..inspector import Inspector

        on_result = None
        if output:
            def on_result(new: Run) -> None:
                if new.ok:
                    self.shell.user_ns[output] = new.result

        return Inspector(self.agent, run, input_values=self.input_values, namespace=self.shell.user_ns,
                         editing=editing, on_result=on_result)
