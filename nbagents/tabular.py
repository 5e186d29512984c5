"""What nbagents knows about a table without importing pandas: its schema, and the markers tool
parameters use to say "a column of that table" or "a value of that column".

A table is a pandas ``DataFrame`` or ``Series``, or an :class:`~nbagents.results.AgentTable`
(which holds a DataFrame). :func:`table_schema` reads its shape, column names and dtypes
duck-typed, so this module (and the grammar that reads it) never imports pandas.

Tool parameters declare their role with :data:`Column`, :data:`NumericColumn` and
:data:`CellValue` (``typing.Annotated`` markers)::

    @tool
    def column_total(table: Table, column: NumericColumn) -> float:
        '''The sum of a numeric column.'''

    @tool
    def filter_rows(table: Table, column: Column, op: Literal["==", ">", "<"], value: CellValue) -> Table:
        ...

The markers end up on :class:`~nbagents.tools.base.ToolInput` (``column`` and ``value_of``); the
grammars then let a column parameter take only a real column of the table inputs (numeric ones
for a :data:`NumericColumn`) and a :data:`CellValue` only a literal of the chosen column's type.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

__all__ = [
    "ColumnInfo",
    "TableSchema",
    "ColumnRole",
    "ValueOf",
    "Column",
    "NumericColumn",
    "CellValue",
    "Table",
    "table_schema",
    "is_table",
    "column_role",
    "value_of",
    "COLUMN_KINDS",
    "MAX_VALUES",
]

#: The kinds of column a schema distinguishes (what a literal of that column may be).
COLUMN_KINDS = ("number", "text", "bool", "datetime", "other")
#: The most distinct values a schema keeps of a text column.
MAX_VALUES = 50
#: The longest text value a schema keeps.
MAX_VALUE_CHARS = 40
#: The most rows read for a text column's distinct values.
MAX_SCANNED_ROWS = 100_000


def _column_kind(dtype: Any) -> str:
    """``number``, ``text``, ``bool``, ``datetime`` or ``other`` for a pandas/numpy dtype, by its
    ``kind`` character (numpy's: ``b`` bool, ``iuf`` numbers, ``M`` datetime, ``O``/``U``/``S`` text)."""
    kind = getattr(dtype, "kind", "")
    name = str(dtype).lower()
    if kind == "b" or name == "boolean":
        return "bool"
    if kind in "iufc" and kind or name.startswith(("int", "uint", "float", "complex")):
        return "number"
    if kind in ("M", "m") or name.startswith("datetime"):
        return "datetime"
    if kind in ("O", "U", "S") or name in ("string", "str", "category", "object"):
        return "text"
    return "other"


@dataclass(frozen=True)
class ColumnInfo:
    """One column: its name (as a string), its dtype as pandas prints it, and its kind."""

    name: str
    dtype: str
    kind: str  # one of COLUMN_KINDS
    #: Distinct values of a short text column (at most :data:`MAX_VALUES`, each at most
    #: :data:`MAX_VALUE_CHARS` characters), in order of first appearance; empty for other columns.
    values: tuple[str, ...] = ()
    #: Whether :attr:`values` are all the column's distinct values (not a sample).
    complete: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind == "number"


@dataclass(frozen=True)
class TableSchema:
    """A table's shape and columns."""

    rows: int
    columns: tuple[ColumnInfo, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column_names(self, *, numeric: bool = False) -> tuple[str, ...]:
        """The column names (only numeric ones with ``numeric=True``)."""
        return tuple(c.name for c in self.columns if c.numeric or not numeric)

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)

    def render(self, *, max_columns: int = 12) -> str:
        """``120 rows × 4 columns: region (text), units (number), ...``, kept short for wide
        tables (the first ``max_columns`` and how many more)."""
        shown = ", ".join(f"{c.name} ({c.kind})" for c in self.columns[:max_columns])
        more = len(self.columns) - max_columns
        if more > 0:
            shown += f", … {more} more"
        rows = f"{self.rows} row" + ("" if self.rows == 1 else "s")
        cols = f"{len(self.columns)} column" + ("" if len(self.columns) == 1 else "s")
        return f"{rows} × {cols}: {shown}"


def _frame_of(value: Any) -> Any:
    """The DataFrame/Series behind ``value`` (an AgentTable's raw value), or ``value``."""
    kind = type(value)
    if kind.__name__ == "AgentTable" and hasattr(value, "to_raw"):
        return value.to_raw()
    return value


def _is_pandas(value: Any, names: Iterable[str]) -> bool:
    return any(c.__module__.startswith("pandas") and c.__name__ in names for c in type(value).__mro__)


def is_table(value: Any) -> bool:
    """Whether ``value`` is a table (a DataFrame, a Series or an AgentTable)."""
    return _is_pandas(_frame_of(value), ("DataFrame", "Series"))


def _distinct(series: Any) -> tuple[tuple[str, ...], bool]:
    """The distinct short string values of a text column (the first :data:`MAX_SCANNED_ROWS`
    rows), and whether they are all of them."""
    try:
        head = series.iloc[:MAX_SCANNED_ROWS]
        seen = list(head.dropna().unique())
    except Exception:  # an exotic column: no values
        return (), False
    kept = tuple(v for v in seen[:MAX_VALUES] if isinstance(v, str) and 0 < len(v) <= MAX_VALUE_CHARS)
    complete = (len(seen) <= MAX_VALUES and len(kept) == len(seen) and len(head) == len(series))
    return kept, complete


def _column_info(name: Any, series: Any) -> ColumnInfo:
    kind = _column_kind(series.dtype)
    values, complete = _distinct(series) if kind == "text" else ((), False)
    return ColumnInfo(str(name), str(series.dtype), kind, values, complete)


def table_schema(value: Any) -> TableSchema | None:
    """The schema of a table value, or ``None`` when it is not a table. A Series is one column
    (named after the Series, or ``value``). Text columns keep their distinct values when they are
    few and short (:attr:`ColumnInfo.values`)."""
    frame = _frame_of(value)
    if _is_pandas(frame, ("DataFrame",)):
        cols = tuple(_column_info(name, frame.iloc[:, i]) for i, name in enumerate(frame.columns))
        return TableSchema(int(frame.shape[0]), cols)
    if _is_pandas(frame, ("Series",)):
        name = frame.name if frame.name is not None else "value"
        return TableSchema(int(frame.shape[0]), (_column_info(name, frame),))
    return None


@dataclass(frozen=True)
class ColumnRole:
    """Marks a parameter as a column name of a table parameter.

    ``numeric``: only numeric columns. ``table``: the parameter that holds the table (empty: the
    tool's first table parameter)."""

    numeric: bool = False
    table: str = ""


@dataclass(frozen=True)
class ValueOf:
    """Marks a parameter as a value of the column named by parameter ``column``: a literal of
    that column's type (a number for a numeric column, a string for a text one)."""

    column: str = "column"


#: A table parameter or return type (the ``table`` kind; the value is a DataFrame).
Table = Annotated[Any, "table"]
Column = Annotated[str, ColumnRole()]
NumericColumn = Annotated[str, ColumnRole(numeric=True)]
CellValue = Annotated[Any, ValueOf("column")]


def _metadata(annotation: Any) -> tuple:
    """The ``Annotated`` metadata of an annotation (also inside ``Optional``), else ``()``."""
    if typing.get_origin(annotation) is Annotated:
        return tuple(annotation.__metadata__)
    if typing.get_origin(annotation) is not None:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _metadata(args[0])
    return ()


def column_role(annotation: Any) -> ColumnRole | None:
    """The :class:`ColumnRole` an annotation carries, or ``None``."""
    return next((m for m in _metadata(annotation) if isinstance(m, ColumnRole)), None)


def value_of(annotation: Any) -> str:
    """The column parameter a :data:`CellValue`-like annotation refers to, or ``""``."""
    return next((m.column for m in _metadata(annotation) if isinstance(m, ValueOf)), "")
