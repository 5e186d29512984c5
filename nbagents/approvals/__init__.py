"""Approvals: every tool call passes one gate that applies the tool's policy (``allow``, ``ask``,
``deny``) before the tool runs.

- :mod:`.policy`: the policy table (:class:`Policies`), the default of each tool and the record of
  one decision (:class:`Decision`).
- :mod:`.gate`: :class:`Gate`, the interpreter's ``before_tool_call`` hook (programs in both
  isolations, plan tasks and ReAct steps all call tools through it).
- :mod:`.widget`: the notebook prompt (an ipywidgets box with Allow once / Always / Deny).
- :mod:`.console`: the terminal prompt (``nbagents run`` on a TTY).

An ``ask`` that nothing can answer (nbclient, CI, a script without a terminal) is refused at once
with an :class:`~nbagents.errors.ApprovalError` that says how to allow the tool.
"""

from .gate import Gate, Prompter, default_prompter
from .policy import POLICIES, Decision, Policies, default_policy

__all__ = ["Gate", "Prompter", "default_prompter", "POLICIES", "Decision", "Policies", "default_policy"]
