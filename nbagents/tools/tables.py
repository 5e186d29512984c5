"""Table tools that need no model (pandas only): read a table file, and count, list, summarise,
filter, sort, select, group, rank, join and aggregate a table.

Every tool takes its tables as pandas DataFrames (the agent passes ``AgentTable`` values,
unwrapped by :class:`~nbagents.tools.base.Tool`) and also accepts a Series, a list of dicts, a dict
of columns or a table file's path, so ``count_rows(table="sales.csv")`` still works. Column
parameters carry the :mod:`nbagents.tabular` markers, so the grammars offer only real columns
(numeric ones where a number is needed). A wrong column, a non-numeric column or an aggregate over
no rows is a :class:`~nbagents.errors.TableError` that lists what would work. A filter that matches
nothing is not an error (zero rows is an answer): it gives an empty table whose note says what the
column holds.

pandas is imported when a tool runs, not when the module is imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from ..deps import require
from ..errors import (
    ColumnTypeError,
    EmptyResultError,
    TableError,
    TableFileError,
    UnknownColumnError,
    closest_names,
)
from ..results import AgentTable
from ..tabular import CellValue, Column, ColumnRole, NumericColumn, Table, table_schema
from .base import Tool
from .builtin import builtin_tool
from .text import readable_path

__all__ = [
    "FUNCTIONS",
    "MAX_TABLE_BYTES",
    "TABLE_EXTENSIONS",
    "as_frame",
    "column_of",
    "numeric_column",
    "read_table",
    "count_rows",
    "list_columns",
    "describe_table",
    "filter_rows",
    "sort_rows",
    "select_columns",
    "group_and_aggregate",
    "top_rows",
    "join_tables",
    "column_value",
    "table_tools",
]

MAX_TABLE_BYTES = 200_000_000
#: The extensions :func:`read_table` reads (others are tried as CSV).
TABLE_EXTENSIONS = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".xlsx", ".xls", ".json", ".jsonl")
_OPS = ("==", "!=", ">", ">=", "<", "<=", "contains")
_AGGREGATES = ("sum", "mean", "count", "min", "max")
_VALUES = ("sum", "mean", "median", "min", "max", "count")


def _pd():
    return require("pandas", extra="all", purpose="The table tools")


# --- arguments -------------------------------------------------------------------------------


def as_frame(value: Any, name: str = "table"):
    """A DataFrame from a DataFrame, an ``AgentTable``, a Series, a list of dicts, a dict of
    columns or the path of a table file (read with :func:`read_table`)."""
    pd = _pd()
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, (str, os.PathLike)):
        return read_table(value)
    if isinstance(value, (AgentTable, pd.Series, list, tuple, dict)):
        try:
            return AgentTable(value).to_raw()
        except (ValueError, TypeError) as e:
            raise TableError(f"`{name}` cannot be made into a table: {e}") from e
    raise TableError(f"`{name}` must be a table, got {type(value).__name__}.",
                     hint="Pass a table input, the result of read_table, or a table file's path.")


def column_of(frame: Any, column: Any) -> Any:
    """The label of ``frame``'s column named ``column`` (compared as text, so ``"2024"`` finds a
    column labelled 2024), or :class:`~nbagents.errors.UnknownColumnError` listing the columns."""
    for label in frame.columns:
        if label == column or str(label) == str(column):
            return label
    raise UnknownColumnError(str(column), [str(c) for c in frame.columns])


def numeric_column(frame: Any, column: Any, *, purpose: str = "a number") -> Any:
    """Like :func:`column_of`, and the column must hold numbers
    (:class:`~nbagents.errors.ColumnTypeError` names its dtype and the numeric columns)."""
    label = column_of(frame, column)
    schema = table_schema(frame)
    info = schema.column(str(label)) if schema is not None else None
    if info is None or not info.numeric:
        raise ColumnTypeError(str(label), str(frame[label].dtype), schema.column_names(numeric=True) if schema else (),
                              purpose=purpose)
    return label


def _count(value: Any, name: str, *, low: int = 1, high: int = 10_000) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError) as e:
        raise TableError(f"`{name}` must be a whole number, got {value!r}.") from e
    if not low <= n <= high:
        raise TableError(f"`{name}` must be between {low} and {high}, got {n}.")
    return n


def _choice(value: Any, name: str, choices: tuple) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise TableError(f"`{name}` must be one of {', '.join(repr(c) for c in choices)}, got {value!r}.")
    return text


def _tidy(frame: Any) -> Any:
    """``frame`` with a fresh 0..n-1 index (results show their rows, not where they came from)."""
    return frame.reset_index(drop=True)


def _need_rows(frame: Any, what: str) -> None:
    if len(frame) == 0:
        raise EmptyResultError(f"The table has no rows, so there is nothing to {what}.",
                               hint="Check the filter that made it (count_rows shows 0), or use the whole table.")


def _values_text(series: Any) -> str:
    """What a column holds, for a message: its range (numbers, dates) or a few of its values."""
    values = series.dropna()
    if len(values) == 0:
        return f"{series.name!s} has no values"
    schema = table_schema(series)
    kind = schema.columns[0].kind if schema is not None else "other"
    if kind in ("number", "datetime"):
        return f"{series.name!s} ranges from {values.min()} to {values.max()}"
    unique = list(dict.fromkeys(str(v) for v in values))
    shown = ", ".join(repr(v) for v in unique[:5])
    more = f" and {len(unique) - 5} more" if len(unique) > 5 else ""
    return f"{series.name!s} has values such as {shown}{more}"


# --- reading ---------------------------------------------------------------------------------


def _nearby_tables(path: Path) -> list[str]:
    folder = path.parent if path.parent.is_dir() else Path.cwd()
    try:
        files = [p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in TABLE_EXTENSIONS]
    except OSError:
        return []
    close = closest_names(path.name, files)
    return close or sorted(files)[:5]


def read_table(path: str) -> Table:
    """Read the CSV, TSV, Parquet, Excel or JSON file at `path`.

    The format comes from the extension; other files are read as CSV. At most 200 MB.
    """
    if isinstance(path, (str, os.PathLike)) and str(path).strip():
        given = Path(os.path.expanduser(str(path).strip()))
        if not given.exists():
            nearby = _nearby_tables(given.resolve())
            where = given.resolve().parent
            raise TableFileError(
                f"No table file at {str(path)!r}.",
                hint=(f"Table files in {where}: {', '.join(nearby)}." if nearby else f"{where} holds no table files.")
                + f" The working directory is {os.getcwd()}.",
            )
    try:
        resolved = readable_path(path, max_bytes=MAX_TABLE_BYTES, what="table file")
    except TableError:
        raise
    except Exception as e:  # readable_path's ToolError: hidden, a folder, too large
        raise TableFileError(getattr(e, "message", str(e)), hint=getattr(e, "hint", None)) from e
    return AgentTable.from_file(resolved).to_raw()


#: The largest table file whose columns are read before a run (:func:`peek_table`).
PEEK_BYTES = 20 * 1024 * 1024


def peek_table(path: str | os.PathLike) -> Any | None:
    """The DataFrame in the table file at ``path`` when it is one (a CSV, TSV, Parquet, Excel or
    JSON file of records or columns, at most :data:`PEEK_BYTES`), else ``None``: what the router
    and the grammars learn of a file a task names before any tool runs (its columns, their kinds
    and values). Never raises."""
    try:
        given = Path(os.path.expanduser(str(path)))
        if given.suffix.lower() not in TABLE_EXTENSIONS or not given.is_file():
            return None
        if given.stat().st_size > PEEK_BYTES:
            return None
        frame = AgentTable.from_file(given).to_raw()
    except Exception:  # noqa: BLE001 - not a table we can read: the task's words decide
        return None
    return frame if len(frame.columns) else None


# --- facts -----------------------------------------------------------------------------------


def count_rows(table: Table) -> int:
    """Count the rows of `table`. How many rows or records it has."""
    return int(len(as_frame(table)))


def list_columns(table: Table) -> list:
    """The column names of `table`."""
    return [str(c) for c in as_frame(table).columns]


def describe_table(table: Table) -> Table:
    """Summarise each column of `table` (type, min, max, mean).

    One row per column: column, type, values (not missing), missing, unique, min, max, mean.
    """
    pd = _pd()
    frame = as_frame(table)
    schema = table_schema(frame)
    rows = []
    for label, info in zip(frame.columns, schema.columns):
        values = frame[label].dropna()
        row = {"column": info.name, "type": info.kind, "values": int(len(values)),
               "missing": int(len(frame) - len(values)), "unique": int(values.nunique()),
               "min": None, "max": None, "mean": None}
        if len(values) and info.kind in ("number", "datetime"):
            row["min"], row["max"] = values.min(), values.max()
        if len(values) and info.numeric:
            row["mean"] = float(values.mean())
        rows.append(row)
    return pd.DataFrame(rows, columns=["column", "type", "values", "missing", "unique", "min", "max", "mean"])


# --- rows ------------------------------------------------------------------------------------


def _comparable(frame: Any, label: Any, value: Any, op: str) -> Any:
    """``value`` as a literal of the column's kind (a number for a numeric column...)."""
    pd = _pd()
    kind = table_schema(frame[label]).columns[0].kind
    if op == "contains":
        return str(value)
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        try:
            return float(str(value).replace(",", "").strip())
        except ValueError as e:
            raise TableError(f"The column {str(label)!r} holds numbers; {value!r} is not a number.",
                             hint=f"Compare it with a number: {_values_text(frame[label])}.") from e
    if kind == "datetime":
        try:
            return pd.Timestamp(value)
        except (ValueError, TypeError) as e:
            raise TableError(f"The column {str(label)!r} holds dates; {value!r} is not a date.",
                             hint="Write the date as '2024-01-31'.") from e
    if kind == "bool" and isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "yes", "1", "false", "no", "0"):
            return text in ("true", "yes", "1")
    if kind == "text" and not isinstance(value, str):
        return str(value)
    return value


def filter_rows(table: Table, column: Column, op: Literal["==", "!=", ">", ">=", "<", "<=", "contains"],
                value: CellValue) -> Table:
    """Keep the rows of `table` where `column` `op` `value` holds.

    The rows that meet a condition, like units > 10. `op` is one of ==, !=, >, >=, <, <= or contains (text, ignoring case). No matching row gives an
    empty table whose note says what the column holds.
    """
    frame = as_frame(table)
    label = column_of(frame, column)
    op = str(op).strip()
    if op not in _OPS:
        raise TableError(f"`op` must be one of {', '.join(_OPS)}, got {op!r}.")
    literal = _comparable(frame, label, value, op)
    series = frame[label]
    try:
        if op == "contains":
            mask = series.astype("string").str.contains(literal, case=False, regex=False, na=False)
        else:
            mask = {"==": series.__eq__, "!=": series.__ne__, ">": series.__gt__, ">=": series.__ge__,
                    "<": series.__lt__, "<=": series.__le__}[op](literal)
    except TypeError as e:
        raise TableError(f"Cannot compare the column {str(label)!r} ({series.dtype}) with {value!r} by {op}.",
                         hint=f"{_values_text(series)}.") from e
    result = _tidy(frame[mask.fillna(False).astype(bool)])
    if len(result) == 0 and len(frame):
        note = f"No rows where {label!s} {op} {value!r}; {_values_text(series)}."
        return AgentTable(result, note=note)
    return result


def sort_rows(table: Table, column: Column, descending: bool = False) -> Table:
    """Sort `table` by `column`, largest first if `descending`.

    Orders or ranks its rows. Smallest first otherwise; rows with no value go last.
    """
    frame = as_frame(table)
    label = column_of(frame, column)
    try:
        return _tidy(frame.sort_values(label, ascending=not bool(descending), kind="stable", na_position="last"))
    except TypeError as e:
        raise TableError(f"The column {str(label)!r} mixes values that cannot be ordered ({frame[label].dtype}).") from e


def select_columns(table: Table, columns: Annotated[list, ColumnRole()]) -> Table:
    """Keep only the `columns` (a list of names) of `table`.

    In the order given.
    """
    frame = as_frame(table)
    names = [columns] if isinstance(columns, str) else list(columns or [])
    if not names:
        raise TableError("`columns` must name at least one column.",
                         hint=f"The table's columns: {', '.join(str(c) for c in frame.columns)}.")
    labels = list(dict.fromkeys(column_of(frame, c) for c in names))
    return frame[labels]


def top_rows(table: Table, column: NumericColumn, n: int = 5) -> Table:
    """The top `n` rows of `table`, by the largest `column`.

    Largest first.
    """
    frame = as_frame(table)
    label = numeric_column(frame, column, purpose="a ranking")
    _need_rows(frame, "rank")
    return _tidy(frame.nlargest(_count(n, "n"), label, keep="first"))


def join_tables(left: Table, right: Table, on: Column) -> Table:
    """Join `left` and `right` on their shared column `on`.

    Combines two tables, matching their rows. Only rows whose `on` value is in both tables are kept.
    """
    a, b = as_frame(left, "left"), as_frame(right, "right")
    label_a = column_of(a, on)
    try:
        label_b = column_of(b, on)
    except UnknownColumnError as e:
        raise UnknownColumnError(str(on), e.columns) from None
    b = b.rename(columns={label_b: label_a}) if label_b != label_a else b
    try:
        return _tidy(a.merge(b, on=label_a, how="inner", suffixes=("", "_right")))
    except ValueError as e:  # keys of different types (numbers and text)
        raise TableError(f"Cannot join on {str(on)!r}: {e}",
                         hint=f"The left column is {a[label_a].dtype}, the right one {b[label_a].dtype}.") from e


# --- aggregates ------------------------------------------------------------------------------


def group_and_aggregate(table: Table, by: Column, column: NumericColumn,
                        how: Literal["sum", "mean", "count", "min", "max"] = "sum") -> Table:
    """Group `table` by `by` and combine `column` by `how`.

    One row for each group, with its total, average, count, lowest or highest: the columns
    `by` and `column`. `how` is sum, mean, count, min or max.
    """
    frame = as_frame(table)
    key = column_of(frame, by)
    how = _choice(how, "how", _AGGREGATES)
    label = numeric_column(frame, column, purpose=f"the {how} of a group") if how != "count" else column_of(frame, column)
    _need_rows(frame, "group")
    grouped = frame.groupby(key, sort=True, dropna=True)[label].agg(how)
    return grouped.reset_index()


def _plain_number(value: Any, integral: bool) -> int | float:
    number = float(value)
    return int(number) if integral and number.is_integer() else number


def column_value(table: Table, column: NumericColumn,
                 how: Literal["sum", "mean", "median", "min", "max", "count"] = "sum") -> float:
    """The `how` (sum, mean, max...) of `column` in `table`.

    One number: its total, average, lowest or highest. `how` is sum, mean, median, min, max or count (the values that are not missing).
    """
    frame = as_frame(table)
    how = _choice(how, "how", _VALUES)
    if how == "count":
        return int(frame[column_of(frame, column)].notna().sum())
    label = numeric_column(frame, column, purpose=f"the {how}")
    values = frame[label].dropna()
    if len(values) == 0:
        raise EmptyResultError(
            f"The column {str(label)!r} has no values" + (" (the table has no rows)" if len(frame) == 0 else "")
            + f", so it has no {how}.",
            hint="Check the filter that made the table (count_rows shows how many rows are left).")
    integral = values.dtype.kind in "iub" and how in ("sum", "min", "max")
    return _plain_number(getattr(values, how)(), integral)


# the tool functions of this module, in the order the toolbox lists them
FUNCTIONS = (read_table, count_rows, list_columns, describe_table, filter_rows, sort_rows, select_columns,
             group_and_aggregate, top_rows, join_tables, column_value)


def table_tools() -> list[Tool]:
    """Fresh instances of the table tools."""
    return [builtin_tool(f) for f in FUNCTIONS]
