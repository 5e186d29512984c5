"""Model-backed tools, one module per family, imported only when a task is used.

:data:`TASKS` maps each task (tool) name to ``"module:Class"``; :func:`task_class` imports it
(both live in :mod:`nbagents.tools.tasks`, which the loaders use without importing this package).
"""

from __future__ import annotations

from ..tasks import TASKS, task_class

__all__ = ["TASKS", "task_class"]
