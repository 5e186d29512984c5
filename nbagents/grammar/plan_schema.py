"""A plan as a JSON schema, for engines that take a schema but not a grammar (OpenAI structured
outputs, TGI's JSON grammar).

The answer is ``{"tasks": [...]}`` (OpenAI's strict mode wants an object at the root); each task is
``{"task": tool, "id": n, "dep": [ids], "args": {...}}`` with that tool's parameter names, every one
listed (strict mode wants all properties required: an optional one takes ``null`` for "leave it
out"). A value is a literal of the parameter's type, or a reference string: ``"<GENERATED>-N"`` for
an earlier task's result, ``"<INPUT>-name"`` for an input. Media parameters take references only.
The plan grammar of local engines says more (ids in order, references typed, the data-flow rule);
the plan's validation checks the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .columns import Tables, tables_of
from .constraint import JsonSchema
from .remote import literal_schemas

__all__ = ["plan_schema"]

_HINT = ('Answer with JSON only, in this shape: {"tasks": [<the steps, each {"task": ..., "id": ..., '
         '"dep": [...], "args": {...}}>]}; null leaves an optional argument out.')

def _reference(inputs: Mapping[str, Any]) -> dict[str, Any]:
    names = "|".join(re.escape(n) for n in sorted(inputs))
    pattern = r"^<GENERATED>-[0-9]+$" if not names else rf"^<(GENERATED>-[0-9]+|INPUT>-({names}))$"
    return {"type": "string", "pattern": pattern}


_KIND_SCHEMAS = {"number": {"type": "number"}, "text": {"type": "string"}, "bool": {"type": "boolean"},
                 "datetime": {"type": "string"}}


def _table_literals(param: Any, tables: Tables) -> list[dict[str, Any]] | None:
    """With table inputs: a column parameter's enum of real column names (numeric ones for a
    numeric role; all the inputs' columns, since a task's table may be an earlier result), a cell
    value's types of those columns' kinds (a schema cannot pair it with the column chosen: the
    plan's validation and the tool check the rest); None for other parameters."""
    if not tables:
        return None
    columns = tables.union()
    if getattr(param, "column", None) is not None:
        names = {"type": "string", "enum": [c.name for c in columns if c.numeric or not param.column.numeric]}
        return [{"type": "array", "minItems": 1, "items": names} if param.type == "list" else names]
    if getattr(param, "value_of", ""):
        kinds = dict.fromkeys(c.kind for c in columns)
        if "other" in kinds:
            return None
        return [dict(_KIND_SCHEMAS[k]) for k in kinds]
    return None


def _value(param: Any, reference: dict[str, Any], tables: Tables | None = None) -> dict[str, Any]:
    choices = tuple(getattr(param, "choices", ()) or ())
    options = _table_literals(param, tables or Tables())
    if options is not None:
        if not param.required:
            options.append({"type": "null"})
        return options[0] if len(options) == 1 else {"anyOf": options}
    options = literal_schemas(param.type, choices)
    if param.type != "str" or choices:  # a plain string already takes a reference
        options.append(dict(reference))
    if not param.required:
        options.append({"type": "null"})
    return options[0] if len(options) == 1 else {"anyOf": options}


def _task(tool: Any, reference: dict[str, Any], tables: Tables | None = None) -> dict[str, Any]:
    props = {p.name: _value(p, reference, tables) for p in tool.inputs}
    args = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
    return {"type": "object",
            "properties": {"task": {"type": "string", "enum": [tool.name]}, "id": {"type": "integer"},
                           "dep": {"type": "array", "items": {"type": "integer"}}, "args": args},
            "required": ["task", "id", "dep", "args"], "additionalProperties": False}


def plan_schema(tools: Mapping[str, Any], inputs: Mapping[str, Any] | None = None, *,
                max_tasks: int = 8) -> JsonSchema | None:
    """The plan's :class:`~nbagents.grammar.JsonSchema` for ``tools`` (name -> Tool) and the
    inputs' names, or ``None`` without tools. With table inputs (values), a column parameter
    takes an enum of their real column names (:func:`_table_literals`)."""
    if not tools:
        return None
    reference = _reference(inputs or {})
    tables = Tables(tables_of(inputs or {}))
    tasks = {"type": "array", "minItems": 1, "maxItems": max_tasks,
             "items": {"anyOf": [_task(t, reference, tables) for t in tools.values()]}}
    schema = {"type": "object", "properties": {"tasks": tasks}, "required": ["tasks"],
              "additionalProperties": False}
    return JsonSchema(schema, name="plan", hint=_HINT)
