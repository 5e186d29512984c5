"""The typed constraints an engine call can carry.

A constraint says what the model may write. Modes build one (a tool program, a plan or step
grammar, a JSON schema) and ask ``engine.accepts(constraint)`` whether the engine, and the server
behind it, can honour it; an engine that cannot gets the unconstrained request, and the Run
records that it was unconstrained. Constraints are plain values: nothing here needs torch.

:class:`JsonSchema` and :class:`Grammar` live here; :class:`~nbagents.grammar.program.ProgramSpec`
(a tool program, one grammar per line) in :mod:`nbagents.grammar.program`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Constraint", "Grammar", "JsonSchema"]


class Constraint:
    """Base class of the values passed as ``engine.generate(..., constraint=...)``.

    ``kind`` names the constraint for the Run's facts and for engines' ``accepts``.
    """

    kind: ClassVar[str] = "constraint"


@dataclass(frozen=True)
class JsonSchema(Constraint):
    """The answer is JSON that validates against ``schema`` (a dict, or its JSON text).

    ``name`` says what it is for (``"plan"``), for the Run's facts and the server's schema name;
    ``hint`` is one sentence on the answer's shape, added to the prompt for servers that do not
    show the schema to the model.
    """

    schema: Mapping[str, Any] = field(default_factory=dict)
    name: str = "answer"
    hint: str = ""

    kind: ClassVar[str] = "json_schema"

    def __post_init__(self) -> None:
        if isinstance(self.schema, str):
            object.__setattr__(self, "schema", json.loads(self.schema))
        if not isinstance(self.schema, Mapping):
            from ..errors import ConfigurationError

            raise ConfigurationError(
                f"A JSON schema must be a dict or its JSON text, not {type(self.schema).__name__}.")

    @property
    def text(self) -> str:
        """The schema as compact JSON text."""
        return json.dumps(self.schema, separators=(",", ":"))


@dataclass(frozen=True)
class Grammar(Constraint):
    """A grammar for the whole answer (llguidance's Lark dialect or its JSON grammar).

    A local engine follows it token by token: tokens the grammar forces are fed at once, the
    other steps are masked to what it allows, and two additions keep small models on track:
    choice points (below) and, near the end of the budget, a preference for tokens that close
    strings and brackets.

    Parameters
    ----------
    text:
        A Lark grammar in llguidance's dialect, or llguidance's JSON grammar (what
        :meth:`from_json_schema` builds).
    kind:
        ``"lark"`` or ``"json_schema"`` (for the Run's facts).
    choices:
        Choice points: when the text so far ends with a key, the candidate strings the grammar
        allows there are scored as wholes and the best is forced.
    prior:
        Nats added to a candidate's log-likelihood at a choice point (by candidate string).
    name:
        What the grammar is for (``"plan"``), for the Run's facts.
    then:
        For answers written in segments: once this grammar is complete (nothing more can
        follow), ``then(text so far, tokens left)`` gives the grammar of the next segment, or
        ``None`` when the answer ends there. A segment's grammar can so depend on what was
        written before (a plan's next task may refer to the earlier tasks' results by type).
    """

    text: str
    kind: str = "lark"
    choices: Mapping[str, Sequence[str]] = field(default_factory=dict)
    prior: Mapping[str, float] = field(default_factory=dict)
    name: str = ""
    then: Callable[[str, int], Grammar | None] | None = field(default=None, compare=False)

    @classmethod
    def from_json_schema(cls, schema: Mapping[str, Any] | str, **options: Any) -> Grammar:
        """A grammar from a JSON schema (a dict or its JSON text), compact JSON layout."""
        from ..deps import require

        llguidance = require("llguidance", extra="all", purpose="Constrained decoding")
        text = schema if isinstance(schema, str) else json.dumps(schema)
        # Compact: with flexible whitespace a small model can pad the JSON until its budget ends.
        compact = {"whitespace_flexible": False}
        return cls(llguidance.LLMatcher.grammar_from_json_schema(text, compact), kind="json_schema", **options)
