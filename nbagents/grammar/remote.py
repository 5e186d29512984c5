"""Constraints for remote engines, as pure functions.

Remote servers take a JSON schema (OpenAI ``response_format``, TGI ``grammar={"type": "json"}``)
or a regular expression (TGI ``grammar={"type": "regex"}``), not a grammar rebuilt per line. The
program is then a list of calls ``{"tool": name, "args": {...}}``; a reference to a variable is
``{"ref": "name"}``, and :func:`render_calls` turns the answer into the same text a local
constrained engine produces (an explanation, then ``result = tool(...)`` lines in a ```py block),
checking tool names, parameter names and references on the way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .columns import (
    CellSlot,
    Tables,
    column_literal,
    column_params,
    column_variants,
    slot_of,
    table_param,
)
from .lark import regex_escape
from .lines import EXPLANATION_CHARS, STRING_CHARS, grounded_literals, stated_choices
from .program import ProgramSpec, render_program
from .types import compatible

__all__ = [
    "literal_schemas",
    "openai_response_format",
    "program_regex",
    "program_schema",
    "render_calls",
    "tgi_grammar",
]

_JSON_TYPES = {"str": {"type": "string"}, "int": {"type": "integer"}, "float": {"type": "number"},
               "bool": {"type": "boolean"},
               "list": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"}]}}}
_ANY = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]


def literal_schemas(ptype: str, choices: tuple = ()) -> list[dict[str, Any]]:
    """The JSON schemas a literal of a parameter may take: its ``Literal[...]`` choices, or a value
    of its type (``any``: a string, number or boolean); none for media and other kinds."""
    if choices:  # only those literals (a Literal[...] parameter)
        return [{"enum": list(choices)}]
    if ptype in _JSON_TYPES:
        return [dict(_JSON_TYPES[ptype])]
    return [dict(o) for o in _ANY] if ptype == "any" else []


def _names(spec: ProgramSpec) -> dict[str, str]:
    return {**spec.variables, **spec.input_types}


def _ref_schema(names: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": {"ref": {"type": "string", "enum": names}},
            "required": ["ref"], "additionalProperties": False}


def _param_schema(ptype: str, spec: ProgramSpec, *, optional: bool, choices: tuple = ()) -> dict[str, Any] | None:
    names = [n for n, t in sorted(_names(spec).items()) if compatible(ptype, t)] + [spec.result_name]
    options = literal_schemas(ptype, choices)
    options.append(_ref_schema(names))
    if optional:
        options.append({"type": "null"})
    return {"anyOf": options}


def _grounded(p: Any, spec: ProgramSpec) -> tuple:
    """The values the task states for parameter ``p`` (the local grammar's grounded literals)."""
    import ast

    return tuple(ast.literal_eval(x) for x in grounded_literals(spec.values, p))


def _tool_schema(tool: Any, spec: ProgramSpec) -> dict[str, Any]:
    props = {p.name: _param_schema(p.type, spec, optional=not p.required,
                                   choices=stated_choices(spec.values, p) if getattr(p, "choices", ())
                                   else _grounded(p, spec))
             for p in tool.inputs}
    args = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
    return {"type": "object",
            "properties": {"tool": {"type": "string", "enum": [tool.name]}, "args": args},
            "required": ["tool", "args"], "additionalProperties": False}


def _cell_schema(slot: CellSlot) -> dict[str, Any]:
    """A cell value's JSON schema: the literals of its slot, or any value of its column's kind."""
    if slot.kind == "bool":
        return {"type": "boolean"}
    if slot.literals:
        return {"enum": [json.loads(x) for x in slot.literals]}
    if slot.kind == "number":
        return {"type": "number"}
    if slot.kind in ("text", "datetime"):
        return {"type": "string"}
    return {"anyOf": [dict(o) for o in _ANY]}


def _columns_schema(p: Any, columns: tuple) -> dict[str, Any]:
    names = {"type": "string", "enum": [c.name for c in columns]}
    return {"type": "array", "minItems": 1, "items": names} if p.type == "list" else names


def _table_groups(tool: Any, tp: str, names: Mapping[str, str], tables: Tables) -> list[tuple[list[str] | None, tuple]]:
    """The tables a call may read, grouped by what their columns are: each table input alone,
    the other names (earlier results, whose columns are every input's) together."""
    if not tp:
        return [(None, tables.union())]
    ptype = next(q.type for q in tool.inputs if q.name == tp)
    pool = [n for n, t in sorted(names.items()) if compatible(ptype, t)]
    groups: list[tuple[list[str] | None, tuple]] = [([n], tables.schemas[n].columns) for n in pool
                                                     if n in tables.schemas]
    unknown = [n for n in pool if n not in tables.schemas]
    return groups + ([(unknown, tables.union())] if unknown else [])


def _column_overrides(tool: Any, spec: ProgramSpec, names: Mapping[str, str],
                      ) -> list[tuple[str, list[str] | None, dict[str, tuple]]] | None:
    """(table parameter, the tables it may name, {column parameter: its columns}) for every way
    of filling the call's column parameters (:func:`~nbagents.grammar.columns.column_variants`);
    None when the call has none or no table is known."""
    tables = Tables(spec.tables)
    params = [p for p in column_params(tool) if p.required]
    if not tables or not params:
        return None
    tp = table_param(tool, params[0])
    return [(tp, refs, variant) for refs, columns in _table_groups(tool, tp, names, tables)
            for variant in column_variants(tool, columns, spec.values, params)]


def _tool_schemas(tool: Any, spec: ProgramSpec) -> list[dict[str, Any]]:
    """The tool's call schemas: one, or with table inputs one per way of filling its column
    parameters, where the column parameters take enums of real column names and a cell value the
    literals of its column's type (JSON schema ``anyOf`` over the column/value pairs)."""
    base = _tool_schema(tool, spec)
    tables = Tables(spec.tables)
    args = base["properties"]["args"]["properties"]
    for p in tool.inputs:  # an optional column parameter: any real column, or left out
        if tables and getattr(p, "column", None) is not None and not p.required:
            fit = tuple(c for c in tables.union() if c.numeric or not p.column.numeric)
            args[p.name] = {"anyOf": [_columns_schema(p, fit), {"type": "null"}]}
    overrides = _column_overrides(tool, spec, {**_names(spec), spec.result_name: "any"})
    if overrides is None:
        return [base]
    out = []
    for tp, refs, variant in overrides:
        schema = json.loads(json.dumps(base))
        props = schema["properties"]["args"]["properties"]
        if refs is not None:
            props[tp] = {"anyOf": [_ref_schema(refs)]}
        for name, columns in variant.items():
            props[name] = _columns_schema(next(q for q in tool.inputs if q.name == name), columns)
        for q in tool.inputs:
            if q.required and getattr(q, "value_of", "") in variant:
                props[q.name] = _cell_schema(slot_of(variant[q.value_of], spec.values))
        out.append(schema)
    return out


def program_schema(spec: ProgramSpec) -> dict[str, Any]:
    """A JSON schema (OpenAI strict-mode compatible) for ``{"explanation", "calls": [...]}``.

    Every parameter is listed (strict mode wants all properties required); an optional one takes
    ``null`` for "leave it out". Values are literals of the parameter's type (only the task's
    values where they fit it, as in the local grammar) or ``{"ref": name}`` with the names whose
    type fits (``result`` is the previous call's value).
    """
    calls = {"type": "array", "minItems": 1, "maxItems": spec.max_calls,
             "items": {"anyOf": [s for t in spec.tools.values() for s in _tool_schemas(t, spec)]}}
    props: dict[str, Any] = {}
    if spec.explanation:
        props["explanation"] = {"type": "string"}
    props["calls"] = calls
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def openai_response_format(spec: ProgramSpec, *, name: str = "tool_program") -> dict[str, Any]:
    """``response_format=`` for OpenAI-compatible chat completions (structured outputs)."""
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": program_schema(spec)}}


def _regex_value(ptype: str, names: list[str]) -> str:
    options = []
    if ptype in ("str", "any"):
        options.append(r'"[^"\\\n]{1,' + str(STRING_CHARS) + '}"')
    if ptype == "int":
        options.append(r"-?(0|[1-9][0-9]*)")
    if ptype in ("float", "any"):
        options.append(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
    if ptype in ("bool", "any"):
        options.append("True|False")
    if ptype in ("list", "any"):
        item = r'("[^"\\\n]*"|-?[0-9]+(\.[0-9]+)?)'
        options.append(r"\[(" + item + "(, " + item + r")*)?\]")
    options += [regex_escape(n) for n in names]
    return "(" + "|".join(options) + ")" if options else ""


def _regex_cell(slot: CellSlot, refs: list[str]) -> str:
    if slot.kind == "other":
        return _regex_value("any", refs)
    if slot.literals and slot.kind != "bool":
        options = [regex_escape(x) for x in slot.literals]
    else:
        options = [{"number": r"-?(0|[1-9][0-9]*)(\.[0-9]+)?", "bool": "True|False"}.get(
            slot.kind, r'"[^"\\\n]{1,' + str(STRING_CHARS) + '}"')]
    return "(" + "|".join(options + [regex_escape(n) for n in refs]) + ")"


def _regex_columns(p: Any, columns: tuple) -> str:
    one = "(" + "|".join(regex_escape(column_literal(c.name)) for c in columns) + ")"
    return r"\[" + one + "(, " + one + r")*\]" if p.type == "list" else one


def _regex_call(tool: Any, names: dict[str, str], spec: ProgramSpec | None = None) -> str:
    """The regex of a call of ``tool``; with table inputs, one alternative per way of filling its
    column parameters (real columns, a cell value of its column's type)."""
    overrides = _column_overrides(tool, spec, names) if spec is not None else None
    if overrides is None:
        return _regex_args(tool, names, {})
    calls = []
    for tp, refs, variant in overrides:
        fixed = {}
        if refs is not None:
            fixed[tp] = "(" + "|".join(regex_escape(n) for n in refs) + ")"
        for name, columns in variant.items():
            fixed[name] = _regex_columns(next(q for q in tool.inputs if q.name == name), columns)
        for q in tool.inputs:
            if q.required and getattr(q, "value_of", "") in variant:
                refs_q = [n for n, t in sorted(names.items()) if t in ("str", "int", "float", "bool")]
                fixed[q.name] = _regex_cell(slot_of(variant[q.value_of], spec.values), refs_q)
        call = _regex_args(tool, names, fixed)
        if call:
            calls.append(call)
    return "(" + "|".join(calls) + ")" if calls else ""


def _regex_args(tool: Any, names: dict[str, str], fixed: Mapping[str, str]) -> str:
    parts = []
    for p in tool.inputs:
        refs = [n for n, t in sorted(names.items()) if compatible(p.type, t)]
        value = fixed.get(p.name) or _regex_value(p.type, refs)
        if not value:
            if p.required:
                return ""
            continue
        parts.append((p, value))
    required = [f"{p.name}={v}" for p, v in parts if p.required]
    optional = [f"(, {p.name}={v})?" for p, v in parts if not p.required]
    if not required:
        return ""  # keep the regex small: tools without a required parameter need the grammar
    return regex_escape(tool.name + "(") + ", ".join(required) + "".join(optional) + r"\)"


def program_regex(spec: ProgramSpec) -> str:
    """A regular expression for the whole answer (TGI ``{"type": "regex"}``): an optional
    explanation line, then 1 to ``max_lines`` lines ``result = tool(...)`` in a ```py block.
    The first line cannot read ``result``; later lines can. (Bounded repetition makes some
    regex compilers slow, so only string literals are bounded.)"""
    names = _names(spec)
    first = [c for c in (_regex_call(t, names, spec) for t in spec.tools.values()) if c]
    later_names = {**names, spec.result_name: "any"}
    later = [c for c in (_regex_call(t, later_names, spec) for t in spec.tools.values()) if c]
    head = regex_escape(f"{spec.result_name} = ")
    expl = r"([^\n`]{1," + str(EXPLANATION_CHARS) + r"}\n)?" if spec.explanation else ""
    body = f"{head}({'|'.join(first)})\\n({head}({'|'.join(later)})\\n){{0,{spec.max_calls - 1}}}"
    return expl + regex_escape("```py\n") + body + regex_escape("```")


def tgi_grammar(spec: ProgramSpec, *, kind: str = "json") -> dict[str, Any]:
    """The ``grammar`` parameter of TGI's ``/generate``: ``{"type": "json", "value": schema}``
    (render the answer with :func:`render_calls`) or ``{"type": "regex", "value": regex}``
    (the answer is already the program text)."""
    if kind == "json":
        return {"type": "json", "value": program_schema(spec)}
    if kind == "regex":
        return {"type": "regex", "value": program_regex(spec)}
    raise ValueError(f"kind must be 'json' or 'regex', not {kind!r}")


# --- from JSON back to code ---------------------------------------------------------------------


def _bad(message: str, raw: str) -> Exception:
    from ..errors import ParseError

    return ParseError(message, raw=raw, hint="The model's structured answer does not fit the toolbox.")


def _literal(value: Any, where: str, raw: str, defined: set[str]) -> str:
    if isinstance(value, Mapping):
        if set(value) != {"ref"} or not isinstance(value["ref"], str):
            raise _bad(f"{where}: a reference is {{\"ref\": name}}, got {json.dumps(value)}.", raw)
        if value["ref"] not in defined:
            raise _bad(f"{where}: {value['ref']!r} is not defined here.", raw)
        return value["ref"]
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, where, raw, defined) for v in value) + "]"
    raise _bad(f"{where}: unsupported value {value!r}.", raw)


def render_calls(answer: str | Mapping[str, Any], spec: ProgramSpec) -> str:
    """Turn ``{"explanation", "calls": [{"tool", "args"}]}`` into the program text.

    Raises
    ------
    ParseError
        When the answer is not JSON of that shape, names a tool or parameter that does not
        exist, leaves out a required parameter or reads a name that is not defined (yet).
    """
    raw = answer if isinstance(answer, str) else json.dumps(answer)
    if isinstance(answer, str):
        try:
            answer = json.loads(answer, strict=False)  # raw control characters in strings
        except ValueError as e:
            raise _bad(f"The answer is not JSON: {e}.", raw) from e
    if not isinstance(answer, Mapping) or not isinstance(answer.get("calls"), list) or not answer["calls"]:
        raise _bad('The answer needs a non-empty "calls" list.', raw)
    defined = set(_names(spec))
    lines = []
    for i, call in enumerate(answer["calls"], 1):
        if not isinstance(call, Mapping) or not isinstance(call.get("tool"), str):
            raise _bad(f"Call {i} has no tool name.", raw)
        tool = spec.tools.get(call["tool"])
        if tool is None:
            raise _bad(f"Call {i}: there is no tool named {call['tool']!r}.", raw)
        args = call.get("args") or {}
        if not isinstance(args, Mapping):
            raise _bad(f"Call {i}: args must be an object.", raw)
        params = {p.name: p for p in tool.inputs}
        unknown = [k for k in args if k not in params]
        if unknown:
            raise _bad(f"Call {i}: {tool.name} has no parameter {unknown[0]!r}.", raw)
        parts = []
        for p in tool.inputs:
            value = args.get(p.name)
            if value is None:
                if p.required:
                    raise _bad(f"Call {i}: {tool.name} needs {p.name}.", raw)
                continue
            text = _literal(value, f"Call {i}, {p.name}", raw, defined)
            parts.append(f"{p.name}={text}")
        lines.append(f"{spec.result_name} = {tool.name}({', '.join(parts)})\n")
        defined.add(spec.result_name)
    explanation = answer.get("explanation") if spec.explanation else ""
    explanation = " ".join(str(explanation or "").split())
    return render_program(explanation, "".join(lines))
