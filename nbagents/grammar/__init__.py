"""Grammars and constraints for what a model may write: plain values and strings (llguidance's
Lark dialect, JSON schemas), no torch.

:class:`Constraint` is what ``engine.generate(..., constraint=...)`` takes: a
:class:`ProgramSpec` (a tool program, one grammar per line), a :class:`Grammar` (one grammar for
the whole answer: a plan, a ReAct step's free text) or a :class:`JsonSchema`.

Modules: :mod:`.constraint` (the values), :mod:`.lines` (the grammar of one program line),
:mod:`.program` (:class:`ProgramSpec`, :class:`ProgramBuilder`), :mod:`.plan` (the grammar of a
plan), :mod:`.remote` (JSON schemas and TGI grammars for remote engines). Decoding under these
grammars is the local engine's job (:mod:`nbagents.engines.local`).
"""

from __future__ import annotations

from .constraint import Constraint, Grammar, JsonSchema
from .lines import LineState, explanation_grammar, line_grammar
from .plan import plan_grammar
from .plan_schema import plan_schema
from .program import ProgramBuilder, ProgramSpec, render_program

__all__ = [
    "Constraint",
    "Grammar",
    "JsonSchema",
    "LineState",
    "ProgramBuilder",
    "ProgramSpec",
    "explanation_grammar",
    "line_grammar",
    "plan_grammar",
    "plan_schema",
    "render_program",
]
