"""Tables in agent code: opaque handles with a few read-only facts, and the refusal of the rest.

A table (a pandas ``DataFrame`` or ``Series``, or an ``AgentTable``; recognised by
:func:`nbagents.tabular.is_table`, so pandas is never imported here) reaches a program as a
handle, like any other object from outside. A program may pass it to tools, store it, return
it, and read the facts of :data:`FACTS` (``t.shape``, ``t.columns`` as a list of ``str``,
``t.dtypes`` as a dict of ``str``, ``t.size``, ``t.ndim``, ``t.empty``) and ``len(t)``, all as
plain Python data computed by the interpreter, never a pandas object. Every other attribute,
method, operator, subscript, iteration, ``in`` or truth test raises a
:class:`~nbagents.errors.RefusedConstructError` that lists the facts and the tools that take a
table: no pandas method (``query``, ``eval``, ``to_csv``, ``pipe``, ``apply``...) ever runs.

In process isolation the table stays in the kernel; only its :class:`TableFacts` cross, as JSON
data (:meth:`TableFacts.encode`), never the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import RefusedConstructError
from .active import active_machine, current_line

__all__ = ["TableFacts", "FACTS", "table_facts", "fact", "table_refusal", "table_tool_names"]

#: The attributes a program may read on a table (``len(t)`` too).
FACTS = ("shape", "columns", "dtypes", "size", "ndim", "empty")


@dataclass(frozen=True)
class TableFacts:
    """What a program may know about a table: its rows, column names and dtypes (as pandas
    prints them), and whether it is a Series (one column, ``shape`` of one number)."""

    rows: int
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]
    series: bool = False

    @property
    def cells(self) -> int:
        """Rows × columns (what ``Limits.max_table_cells`` bounds)."""
        return self.rows * len(self.columns)

    def shown(self) -> str:
        """``120 rows × 4 columns``."""
        return f"{self.rows} rows × {len(self.columns)} columns"

    def encode(self) -> list:
        """JSON data for the isolated child."""
        return [self.rows, list(self.columns), list(self.dtypes), self.series]

    @classmethod
    def decode(cls, data) -> TableFacts | None:
        """The facts :meth:`encode` wrote, or ``None`` for anything else."""
        if type(data) is not list or len(data) != 4:
            return None
        rows, columns, dtypes, series = data
        if type(rows) is not int or type(columns) is not list or type(dtypes) is not list or len(columns) != len(dtypes):
            return None
        if not all(type(c) is str for c in columns) or not all(type(d) is str for d in dtypes):
            return None
        return cls(rows, tuple(columns), tuple(dtypes), series is True)


def table_facts(obj: object) -> TableFacts | None:
    """The facts of a table value, else ``None`` (also when reading them fails: the value is
    then an ordinary opaque handle)."""
    from ..tabular import is_table, table_schema

    try:
        if not is_table(obj):
            return None
        schema = table_schema(obj)
        if schema is None:
            return None
        raw = obj.to_raw() if type(obj).__name__ == "AgentTable" else obj
        series = any(c.__name__ == "Series" and c.__module__.startswith("pandas") for c in type(raw).__mro__)
        return TableFacts(
            int(schema.rows), tuple(c.name for c in schema.columns), tuple(c.dtype for c in schema.columns), series
        )
    except Exception:  # noqa: BLE001 - a broken table stays an opaque handle
        return None


def fact(facts: TableFacts, name: str):
    """The fact ``name`` of :data:`FACTS` as fresh plain data."""
    if name == "shape":
        return (facts.rows,) if facts.series else (facts.rows, len(facts.columns))
    if name == "columns":
        return list(facts.columns)
    if name == "dtypes":
        return dict(zip(facts.columns, facts.dtypes))
    if name == "size":
        return facts.cells
    if name == "ndim":
        return 1 if facts.series else 2
    if name == "empty":
        return facts.cells == 0
    raise KeyError(name)


def table_tool_names(tools: Mapping[str, Any]) -> list[str]:
    """The names of ``tools`` (name -> tool) that take a table (an input of type ``table``,
    read from a tool's ``inputs``), sorted."""
    names = []
    for name, tool in tools.items():
        try:
            if any(getattr(i, "type", None) == "table" for i in getattr(tool, "inputs", None) or ()):
                names.append(name)
        except Exception:  # noqa: BLE001 - a tool without readable inputs is not listed
            continue
    return sorted(names)


def _running_table_tools() -> list[str]:
    """The running program's tools that take a table: from the tools in the kernel, from the
    names the kernel sent (``Machine.table_tools``) in the isolated child."""
    m = active_machine()
    if m is None:
        return []
    return table_tool_names({name: ref.fn for name, ref in m.tools.items()}) or sorted(
        n for n in m.table_tools if n in m.tools
    )


def table_refusal(what: str, facts: TableFacts | None) -> RefusedConstructError:
    """The refusal of ``what`` (``"the attribute 'query' of"``, ``"iterating over"``) on a table."""
    shown = f" ({facts.shown()})" if facts is not None else ""
    tools = _running_table_tools()
    if tools:
        listed = ", ".join(tools[:12]) + (f", … {len(tools) - 12} more" if len(tools) > 12 else "")
        to_tools = f"pass the table to a tool that takes one: {listed}"
    else:
        to_tools = "pass the table to a tool that takes a table (filter, sort, select, group, a column's value, a chart)"
    return RefusedConstructError(
        f"{what[:1].upper()}{what[1:]} a table{shown}",
        line=current_line(),
        hint=(
            "A table is opaque in agent code: read t.shape, t.columns, t.dtypes, t.size, t.ndim, t.empty "
            f"or len(t), and {to_tools}."
        ),
    )
