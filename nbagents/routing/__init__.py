"""Which tools a task needs, before the model writes anything, and an honest
:class:`~nbagents.errors.NoToolError` when no ready tool can do it.

:func:`route_task` routes a task over an agent's toolbox and every tool that exists but is not
ready; :func:`route` is the decision itself over catalogue entries; :func:`clauses` splits a task
into its steps.
"""

from ..lazy import lazy_exports

__all__ = ["ClauseRoute", "Routing", "clauses", "route", "route_task"]

__getattr__, __dir__ = lazy_exports(__name__, {"ClauseRoute": "router", "Routing": "router", "route": "router",
                                               "clauses": "clauses", "route_task": "toolbox"}, globals())
