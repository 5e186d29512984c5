"""Grammars and constraints for what a model may write: plain values and strings (llguidance's
Lark dialect, JSON schemas), no torch.

:class:`Constraint` is what ``engine.generate(..., constraint=...)`` takes: a
:class:`ProgramSpec` (a tool program, one grammar per line), a :class:`Grammar` (one grammar for
the whole answer: a plan, a ReAct step's free text) or a :class:`JsonSchema`.
"""

from __future__ import annotations

from ..constrain.guided import Grammar
from ..constrain.plan_grammar import plan_grammar
from ..constrain.program import ProgramSpec
from .constraint import Constraint, JsonSchema
from .plan_schema import plan_schema

__all__ = ["Constraint", "Grammar", "JsonSchema", "ProgramSpec", "plan_grammar", "plan_schema"]
