"""Which columns a column parameter takes, and which literals a cell value takes, when tables are
inputs: the one place the grammars (program lines, plans, remote schemas) ask.

A tool marks its parameters with :data:`~nbagents.tabular.Column`,
:data:`~nbagents.tabular.NumericColumn` and :data:`~nbagents.tabular.CellValue`
(``ToolInput.column`` and ``ToolInput.value_of``). With the schemas of the table inputs
(:class:`Tables`):

* a column parameter takes only the names of real columns of the table its call reads (numeric
  ones for a numeric role); when that table is an earlier result, whose columns cannot be known in
  general, the columns of all table inputs;
* when the task names columns (``"units"``, ``"unit price"`` for ``unit_price``, ``"sales"`` for
  ``sale``, or a word of a longer name: ``"price"`` for ``unit_price`` when no column is named
  outright), only those (:func:`stated_columns`);
* the column parameters of one call take different columns (``by="region", column="units"``);
* a cell value takes a literal of its column's type (:func:`cell_slot`): a number (those the task
  states, if any), a string (the column's values the task names, else its quoted text, else the
  column's values when they are few and all known), ``True``/``False`` for a bool column.

:func:`column_variants` lists the ways of filling a call's column parameters, each with the
columns a parameter may take; grammars write one alternative per variant, so that a value's
literal follows the column chosen before it.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..tabular import ColumnInfo, TableSchema, table_schema

__all__ = [
    "CellSlot",
    "MAX_VARIANTS",
    "Tables",
    "cell_slot",
    "column_literal",
    "column_lists",
    "column_params",
    "column_variants",
    "candidates",
    "named_values",
    "slot_of",
    "stated_columns",
    "table_param",
    "tables_of",
]

#: The most variants (ways of filling a call's column parameters) one grammar lists.
MAX_VARIANTS = 64


@dataclass(frozen=True)
class Tables:
    """The schemas of the tables a program may read, by name (inputs and chat variables)."""

    schemas: Mapping[str, TableSchema] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.schemas)

    def union(self) -> tuple[ColumnInfo, ...]:
        """Every table's columns (the first of each name): the columns of a table whose schema
        is not known (an earlier result)."""
        out: dict[str, ColumnInfo] = {}
        for schema in self.schemas.values():
            for c in schema.columns:
                out.setdefault(c.name, c)
        return tuple(out.values())

    def of(self, name: str | None) -> tuple[ColumnInfo, ...]:
        """The columns of the table named ``name`` (:meth:`union` when it is not known)."""
        schema = self.schemas.get(name) if name is not None else None
        return schema.columns if schema is not None else self.union()

    def describe(self) -> dict[str, str]:
        return {n: s.render() for n, s in self.schemas.items()}


def tables_of(values: Mapping[str, Any]) -> dict[str, TableSchema]:
    """The schemas of the values that are tables (seen through the interpreter's handles)."""
    from ..interpreter.values import host_value

    out = {}
    for name, value in values.items():
        schema = table_schema(host_value(value))
        if schema is not None:
            out[name] = schema
    return out


def column_literal(name: str) -> str:
    """A column name as a string literal: valid Python source and JSON (double quotes, escapes
    where needed, non-ASCII kept)."""
    return json.dumps(name, ensure_ascii=False)


def column_params(tool: Any) -> list[Any]:
    """The tool's parameters that take a column name (or a list of them)."""
    return [p for p in tool.inputs if getattr(p, "column", None) is not None]


def table_param(tool: Any, p: Any) -> str:
    """The parameter holding the table whose column ``p`` names: the role's ``table``, else the
    tool's first table parameter; ``""`` when there is none."""
    named = p.column.table
    if named and any(q.name == named for q in tool.inputs):
        return named
    return next((q.name for q in tool.inputs if q.type == "table"), "")


# --- what the task names --------------------------------------------------------------------------


def _parts(name: str) -> list[str]:
    """The words of a column name, lower case (``unit_price``, ``UnitPrice``, ``unit price``)."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[^\W\d_]+", name)]


def _singular(word: str) -> str:
    for end, repl in (("ies", "y"), ("ses", "s"), ("xes", "x"), ("s", "")):
        if word.endswith(end) and len(word) - len(end) >= 2:
            return word[: len(word) - len(end)] + repl
    return word


_WEAK = frozenset({"id", "no", "of", "the", "a", "an", "and", "per", "by", "in", "on", "at", "to", "is", "num",
                   "count", "total", "value", "name", "type"})


def _mention(c: ColumnInfo, words: frozenset[str], quoted: Sequence[str]) -> int:
    """2 when the task names the column (all its words, or quoted), 1 when it names a word of it."""
    if any(q.strip().lower() == c.name.lower() for q in quoted):
        return 2
    forms = words | {_singular(w) for w in words}
    parts = _parts(c.name)
    if not parts:
        return 0
    if all(p in forms or _singular(p) in forms for p in parts):
        return 2
    if len(parts) > 1 and any((p in forms or _singular(p) in forms) and len(p) >= 3 and p not in _WEAK
                              for p in parts):
        return 1
    return 0


def stated_columns(columns: Sequence[ColumnInfo], values: Any) -> tuple[ColumnInfo, ...]:
    """The columns the task names (``values``: its :class:`~nbagents.grammar.values.TaskValues`):
    those named outright, else those of which it names a word; empty when it names none."""
    if values is None:
        return ()
    words, quoted = values.words, values.quoted
    scores = [_mention(c, words, quoted) for c in columns]
    best = max(scores, default=0)
    named = [c for c, s in zip(columns, scores) if s == best] if best else []
    # "unit price" names unit_price, not also units: a name whose words another named one has
    parts = {c.name: {_singular(p) for p in _parts(c.name)} for c in named}
    return tuple(c for c in named if not any(parts[c.name] < parts[o.name] for o in named))


def candidates(columns: Sequence[ColumnInfo], p: Any, values: Any) -> tuple[ColumnInfo, ...]:
    """The columns parameter ``p`` may take among ``columns``: the numeric ones for a numeric
    role, and of those the ones the task names, when it names some."""
    fit = tuple(c for c in columns if c.numeric or not p.column.numeric)
    stated = stated_columns(fit, values)
    return stated or fit


#: A list parameter with at most this many columns to choose from lists each at most once.
MAX_LISTED = 4


def column_lists(columns: Sequence[ColumnInfo]) -> list[tuple[ColumnInfo, ...]] | None:
    """Every list of different columns of ``columns`` (each ordered subset), when there are at
    most :data:`MAX_LISTED`; None for more (a list then takes any of them, repeats included)."""
    if len(columns) > MAX_LISTED:
        return None
    return [combo for k in range(1, len(columns) + 1) for combo in itertools.permutations(columns, k)]


# --- the literal of a cell ------------------------------------------------------------------------


@dataclass(frozen=True)
class CellSlot:
    """What a cell value of a column may be: ``kind`` is the column's kind (``number``,
    ``text``, ``bool``, ``datetime``, ``other``); ``literals`` the only literals it takes (source
    text, the same in Python and JSON), or empty for any literal of that kind."""

    kind: str
    literals: tuple[str, ...] = ()


def _number(value: float) -> str:
    if not math.isfinite(value):
        return ""
    return str(int(value)) if float(value).is_integer() else repr(round(float(value), 6))


def _names_value(value: str, words: frozenset[str], quoted: Sequence[str]) -> bool:
    low = value.lower()
    if any(q.strip().lower() == low for q in quoted):
        return True
    parts = re.findall(r"\w+", low)
    return bool(parts) and all(p in words or (len(p) > 3 and _singular(p) in words) for p in parts)


def named_values(column: ColumnInfo, values: Any) -> tuple[str, ...]:
    """The known text values of ``column`` that the task names ("North", "New York"), quoted
    or in its words."""
    if values is None or column.kind != "text":
        return ()
    return tuple(v for v in column.values if _names_value(v, values.words, tuple(values.quoted)))


def cell_slot(column: ColumnInfo, values: Any) -> CellSlot:
    """The literals a value of ``column`` takes, given what the task states (``values``)."""
    quoted = tuple(values.quoted) if values is not None else ()
    if column.kind == "number":
        numbers = [_number(a.value) for a in values.numbers] if values is not None else []
        return CellSlot("number", tuple(dict.fromkeys(n for n in numbers if n)))
    if column.kind == "bool":
        return CellSlot("bool")
    if column.kind == "text":
        named = named_values(column, values)
        if named:
            return CellSlot("text", tuple(column_literal(v) for v in named))
        if quoted:
            return CellSlot("text", tuple(column_literal(q) for q in quoted))
        if column.complete and column.values:
            return CellSlot("text", tuple(column_literal(v) for v in column.values))
        return CellSlot("text")
    if column.kind == "datetime" and quoted:
        return CellSlot("datetime", tuple(column_literal(q) for q in quoted))
    return CellSlot(column.kind)


# --- the ways of filling a call -------------------------------------------------------------------


def slot_of(columns: Sequence[ColumnInfo], values: Any) -> CellSlot:
    """The :class:`CellSlot` of a value whose column is one of ``columns`` (all of one kind):
    their literals together when every one has a closed set, else any literal of the kind."""
    slots = list(dict.fromkeys(cell_slot(c, values) for c in columns))
    if len(slots) == 1:
        return slots[0]
    kinds = {s.kind for s in slots}
    kind = kinds.pop() if len(kinds) == 1 else "other"
    if kind != "other" and all(s.literals for s in slots):
        return CellSlot(kind, tuple(dict.fromkeys(x for s in slots for x in s.literals)))
    return CellSlot(kind)


def _distinct_combos(single: list, cands: dict, columns: tuple) -> list[dict[str, tuple]] | None:
    """One variant per combination of different columns for the ``single`` parameters, when
    there are some and at most :data:`MAX_VARIANTS`; None otherwise. When the columns the task
    names cannot fill the parameters with different columns ("the average price": ``by`` and
    ``column`` both named ``unit_price``), the fewest parameters take any of their columns
    instead, non-numeric ones first (a named number column is rather the numeric one's)."""
    if not single:
        return [{}]
    if len(single) == 1:
        pool = cands[single[0].name]
        return [{single[0].name: (c,)} for c in pool] if len(pool) <= MAX_VARIANTS else None
    fits = {p.name: tuple(c for c in columns if c.numeric or not p.column.numeric) for p in single}
    subsets = sorted((s for k in range(len(single) + 1) for s in itertools.combinations(single, k)),
                     key=lambda s: (len(s), sum(p.column.numeric for p in s)))
    for relaxed in subsets:
        pools = [fits[p.name] if p in relaxed else cands[p.name] for p in single]
        if math.prod(len(x) for x in pools) > MAX_VARIANTS * 4:
            return None
        out = [{p.name: (c,) for p, c in zip(single, combo)} for combo in itertools.product(*pools)
               if len({c.name for c in combo}) == len(combo)]
        if out:
            return out if len(out) <= MAX_VARIANTS else None
    return None


def column_variants(tool: Any, columns: tuple[ColumnInfo, ...], values: Any,
                    params: Iterable[Any] | None = None) -> list[dict[str, tuple[ColumnInfo, ...]]]:
    """The ways of filling the required column parameters of ``tool`` from ``columns`` (the
    columns of the table the call reads): each maps a parameter to the columns it may take.

    When the combinations of different columns are few (at most :data:`MAX_VARIANTS`), one
    variant per combination; else one per kind of value (:class:`CellSlot`, then per column kind
    when those are too many) of the parameters that a cell value refers to. A list parameter
    takes any of its candidates (it is not in the combinations). Empty when a required parameter
    has no column it may take (a numeric role and a table without numbers). A parameter that a
    cell value refers to takes only the columns holding a value the task names, when it names
    one ("North" -> ``region``)."""
    params = [p for p in (column_params(tool) if params is None else params) if p.required]
    if not params:
        return [{}]
    cands = {p.name: candidates(columns, p, values) for p in params}
    owners = {i.value_of for i in tool.inputs if getattr(i, "value_of", "")}
    for name in owners & set(cands):  # "the sales from the North region": the column North is in
        holding = tuple(c for c in columns if named_values(c, values))
        if holding:
            cands[name] = holding
    if any(not c for c in cands.values()):
        return []
    single = [p for p in params if p.type != "list"]
    lists = {p.name: cands[p.name] for p in params if p.type == "list"}
    combos = _distinct_combos(single, cands, columns)
    if combos is not None:
        return [{**c, **lists} for c in combos]
    for key in (lambda c: cell_slot(c, values), lambda c: c.kind):
        grouped: list[dict[str, tuple[ColumnInfo, ...]]] = [{}]
        for p in single:
            if p.name not in owners:
                grouped = [{**g, p.name: cands[p.name]} for g in grouped]
                continue
            by_key: dict[Any, list[ColumnInfo]] = {}
            for c in cands[p.name]:
                by_key.setdefault(key(c), []).append(c)
            grouped = [{**g, p.name: tuple(cs)} for g in grouped for cs in by_key.values()]
        if len(grouped) <= MAX_VARIANTS:
            break
    return [{**g, **lists} for g in grouped]
