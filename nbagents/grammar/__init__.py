"""Grammars and constraints for what a model may write: plain values and strings (llguidance's
Lark dialect, JSON schemas), no torch.

:class:`Constraint` is what ``engine.generate(..., constraint=...)`` takes: a
:class:`ProgramSpec` (a tool program, one grammar per line), a :class:`Grammar` (one grammar for
the whole answer: a plan, a ReAct step's free text) or a :class:`JsonSchema`.

Modules: :mod:`.constraint` (the values), :mod:`.lines` (the grammar of one program line),
:mod:`.program` (:class:`ProgramSpec`, :class:`ProgramBuilder`), :mod:`.plan` (the grammar of a
plan), :mod:`.values` (what a task states: the values literals are grounded in), :mod:`.remote`
(JSON schemas and TGI grammars for remote engines). Decoding under these
grammars is the local engine's job (:mod:`nbagents.engines.local`).
"""

from __future__ import annotations

from ..lazy import lazy_exports
from .constraint import Constraint, Grammar, JsonSchema

# The grammar builders load on first use: engines import the constraint values above with every
# ``import nbagents``, the builders only when a constrained request is made.
_LAZY = {
    "LineState": "lines", "explanation_grammar": "lines", "line_grammar": "lines",
    "plan_grammar": "plan", "plan_schema": "plan_schema",
    "ProgramBuilder": "program", "ProgramSpec": "program", "render_program": "program",
    "TaskValues": "values", "calls_of": "values", "task_values": "values",
}

__all__ = [
    "Constraint",
    "Grammar",
    "JsonSchema",
    "LineState",
    "ProgramBuilder",
    "ProgramSpec",
    "TaskValues",
    "calls_of",
    "explanation_grammar",
    "line_grammar",
    "plan_grammar",
    "plan_schema",
    "render_program",
    "task_values",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
