"""Grammars and constraints for what a model may write: plain values and strings (llguidance's
Lark dialect, JSON schemas), no torch.

:class:`Constraint` is what ``engine.generate(..., constraint=...)`` takes: a
:class:`ProgramSpec` (a tool program, one grammar per line), a :class:`Grammar` (one grammar for
the whole answer: a plan, a ReAct step's free text) or a :class:`JsonSchema`.
"""

from __future__ import annotations

from ..constrain.guided import Grammar
from ..constrain.program import ProgramSpec
from .constraint import Constraint, JsonSchema

__all__ = ["Constraint", "Grammar", "JsonSchema", "ProgramSpec"]
