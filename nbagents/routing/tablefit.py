"""How well a clause's table facts fill a table tool's parameters: the router's evidence, beside
meaning and words, that "What is the total revenue in sales?" is a job for ``column_value``.

With tables at hand (inputs or chat variables), a clause states *table facts*: the columns it
names (``revenue``; a column is also named through one of its values: "North" names ``region``),
the cell values it names ("North"), its numbers ("older than 40") and the operations its words
say (:data:`~nbagents.grammar.values.CHOICE_WORDS`: "total", "older"). A table tool's parameters
take them: a column parameter a named column, a cell-value parameter a named value or a number,
a choice parameter the choice the clause says ("total" -> ``how="sum"``, "older than" -> ``op=">"``),
a number parameter a number. :func:`table_fit` is the share of the tool's parameters that the
clause fills (its required ones, and optional ones it fills) times the share of the clause's
facts that the tool uses: a tool that leaves half the task unsaid ("the sales from the North
region" to ``select_columns``) fits half as well as one that says all of it (``filter_rows``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..grammar.columns import Tables, named_values, stated_columns
from ..grammar.values import CHOICE_WORDS

__all__ = ["MEANT", "MEANT_MARGIN", "has_condition", "meant_columns", "operations", "table_fit"]

#: The least cosine similarity under the sentence encoder between a word of a clause and a column
#: name for the word to name that column by meaning ("older" -> ``age``, "town" -> ``city``)...
MEANT = 0.6
#: ...and by how much it must beat every other column.
MEANT_MARGIN = 0.1
_STOP = frozenset("the and for with from that this what which who how many much are was were has have had "
                  "its all any each per into than then them they their there here show give tell list make "
                  "please table tables row rows column columns value values".split())


def _is_number_param(p: Any) -> bool:
    return p.type in ("int", "float") and not p.choices and p.column is None and not p.value_of


#: Comparisons a condition says ("more than 5", "at least 4.5", "not"), by their choice.
_COMPARISONS = frozenset({">", "<", ">=", "<=", "!="})


def _said(values: Any) -> set[str]:
    """The choices a clause says: by their everyday words, or by their own name ("the mean")."""
    return {choice for choice, words in CHOICE_WORDS.items() if words & values.words or choice in values.words}


def _facts(values: Any, tables: Tables, meant: Iterable[str], *, condition: bool) -> tuple:
    columns = tables.union()
    named = {c.name for c in stated_columns(columns, values)} | set(meant)
    cells = {(c.name, v) for c in columns for v in named_values(c, values)}
    said = _said(values)
    numbers = len(values.numbers)
    if not condition:  # the condition is another step's ("the books rated at least 4.5")
        named -= {c for c, _ in cells}
        cells = set()
        if said & _COMPARISONS and numbers:
            said -= _COMPARISONS
            numbers = 0
    return columns, named, cells, said, numbers


def has_condition(values: Any, tables: Tables) -> bool:
    """Whether a clause states a condition on rows: a cell value it names ("in Engineering",
    "Oslo"), or a comparison with a number ("more than 400 pages", "at least 4.5")."""
    if not tables or values is None:
        return False
    _, _, cells, said, numbers = _facts(values, tables, (), condition=True)
    return bool(cells) or bool(said & _COMPARISONS and numbers)


def operations(values: Any) -> frozenset[str]:
    """The operations a clause says besides a condition ("how many" -> count, "average" ->
    mean), from :data:`~nbagents.grammar.values.CHOICE_WORDS`: what is left to do once the rows
    that meet its condition are kept."""
    if values is None:
        return frozenset()
    return frozenset(_said(values) - _COMPARISONS - {"==", "horizontal", "vertical"})


def table_fit(tool: Any, values: Any, tables: Tables, meant: Iterable[str] = (), *,
              condition: bool = True) -> float:
    """0 to 1: how fully ``values`` (a clause's :class:`~nbagents.grammar.values.TaskValues`)
    fill ``tool``'s parameters with the facts of ``tables``, and use them; 0 for a tool that
    takes no table, with no table at hand, or with no parameter the clause can fill.
    ``meant``: columns the clause names by meaning (:func:`meant_columns`). ``condition=False``:
    without the clause's condition (:func:`has_condition`), which a filtering step before takes."""
    inputs = list(getattr(tool, "inputs", ()))
    if not tables or values is None or not any(p.type == "table" for p in inputs):
        return 0.0
    # the operations the clause says in its words ("total" -> sum, "older" -> >) are facts too
    columns, named, cells, said, numbers = _facts(values, tables, meant, condition=condition)
    facts_columns = named | {c for c, _ in cells}
    numeric = {c.name for c in columns if c.numeric}

    filled = asked = 0
    used_columns: set[str] = set()
    used_cells = used_numbers = 0
    used_choices: set[str] = set()
    free_columns = set(facts_columns)
    for p in inputs:
        if p.type == "table":
            continue
        ok = False
        if p.column is not None:
            fit = sorted(c for c in free_columns if c in numeric or not p.column.numeric)
            if p.type == "list":
                ok = bool(fit)
                used_columns |= set(fit)
                free_columns -= set(fit)
            elif fit:
                ok = True
                used_columns.add(fit[0])
                free_columns.discard(fit[0])
        elif p.value_of:
            if cells:
                ok, used_cells = True, used_cells + 1
            elif numbers > used_numbers:
                ok, used_numbers = True, used_numbers + 1
        elif p.choices:
            chosen = set(values.choices(p.name, p.type, p.choices))
            if not condition:
                chosen -= _COMPARISONS | {"=="}  # the filtering step's
            if not chosen and cells and "==" in p.choices and not said & set(p.choices):
                chosen = {"=="}  # "the sales from the North region": a named value, no comparison said
            ok = bool(chosen)
            used_choices |= chosen & said
        elif _is_number_param(p) and numbers > used_numbers and not said & _COMPARISONS:  # not "than 40"
            ok, used_numbers = True, used_numbers + 1
        if p.required or ok:
            asked += 1
            filled += ok
    # an operation the tool's name says ("how many" -> count_rows) is used by it
    name = set(re.findall(r"[a-z]+", str(getattr(tool, "name", "")).lower()))
    used_choices |= {c for c in said if c in name or CHOICE_WORDS.get(c, frozenset()) & name}  # top_rows: max
    facts = len(facts_columns) + len(cells) + numbers + len(said)
    used = len(used_columns & facts_columns) + min(used_cells, len(cells)) + used_numbers + len(used_choices)
    if not asked:  # a tool of the table alone (count_rows): it fits when its name says the operation
        return 1.0 if used_choices and used == facts else 0.0
    if not filled:
        return 0.0
    return (filled / asked) * (used / facts if facts else 1.0)


def meant_columns(encoder: Any, text: str, tables: Tables, *, skip: Iterable[str] = ()) -> tuple[str, ...]:
    """The columns of ``tables`` that words of ``text`` name by meaning, under ``encoder``
    (``encode(texts, cache=) -> unit vectors``): a word names the column whose name is at least
    :data:`MEANT` similar to it, by :data:`MEANT_MARGIN` more than any other. Words that name an
    input (``skip``: "sales" is the table, not its revenue) or a column outright are not read."""
    columns: Sequence[str] = [c.name for c in tables.union()]
    if encoder is None or len(columns) < 1:
        return ()
    skipped = {w.lower() for w in skip} | {w for c in columns for w in re.findall(r"[a-z]+", c.lower())}
    words = list(dict.fromkeys(w for w in re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower())
                               if len(w) >= 3 and w not in _STOP and w not in skipped))
    if not words:
        return ()
    names = [re.sub(r"[_\s]+", " ", c).strip() for c in columns]
    sims = encoder.encode(words) @ encoder.encode(names, cache=True).T
    out = []
    for row in sims.tolist():
        ranked = sorted(range(len(columns)), key=lambda j: row[j], reverse=True)
        best = ranked[0]
        second = row[ranked[1]] if len(ranked) > 1 else -1.0
        if row[best] >= MEANT and row[best] - second >= MEANT_MARGIN:
            out.append(columns[best])
    return tuple(dict.fromkeys(out))
