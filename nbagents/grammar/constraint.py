"""The typed constraints an engine call can carry.

A constraint says what the model may write. Modes build one (a tool program, a plan or step
grammar, a JSON schema) and ask ``engine.accepts(constraint)`` whether the engine, and the server
behind it, can honour it; an engine that cannot gets the unconstrained request, and the Run
records that it was unconstrained. Constraints are plain values: nothing here needs torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Constraint", "JsonSchema"]


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
