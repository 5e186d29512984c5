"""The agent's modes, each a short loop over the same :class:`~nbagents.modes.stages.Stages`:

* :func:`perform_code` — one program per task (and per chat turn), repaired once;
* :func:`perform_react` — thought → code → observation steps until ``final_answer``;
* :func:`perform_plan` / :func:`execute_plan` — a JSON task graph, validated, its independent
  tasks run in parallel, then a final response.

A mode is handed what it needs (the engine, the toolbox, the interpreter, the settings), never the
Agent; the Agent keeps the configuration and the history, and picks the mode.
"""

from __future__ import annotations

from ..lazy import lazy_exports
from .stages import Settings, Stages, describe_inputs

# The modes load on first use (``import nbagents`` stays light).
_LAZY = {"perform_code": "code", "perform_react": "react", "perform_plan": "plan", "execute_plan": "plan"}

__all__ = ["Settings", "Stages", "describe_inputs", "execute_plan", "perform_code", "perform_plan",
           "perform_react"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
