"""Table tasks with outcome checks (issue 21): DataFrames in, tables, numbers and charts out.

The held-out suite (``tables-held-out``) was written first and committed on its own, before the
table tools existed and before any tuning: everyday wording, checked by outcome only (the right
rows, the right number, a chart of the right kind). The tuned suite (``tables-tuned``) came later,
with other wording and other data; the two are reported apart.

Inputs are named in :data:`TABLES`: a name without an extension is handed to the agent as a
pandas DataFrame; a name with one (``weather.csv``) is written into the task's folder as that file.
Expected outcomes are computed with pandas directly, never with the tools under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["TableTask", "TABLES", "TABLE_SUITES", "rows_like", "value_is", "chart", "columns_are",
           "summary_of", "table_of", "build_tables"]

Check = Callable[[Any, "Tables"], "str | None"]


@dataclass(frozen=True)
class TableTask:
    """One task: its words, the inputs it gets (names in :data:`TABLES`), the check, and a
    reference program on the table tools (used only to test the checks)."""

    text: str
    inputs: tuple[str, ...]
    check: Check
    reference: str


# --- the data -----------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _sales():
    import pandas as pd

    regions = ("North", "South", "East", "West")
    products = ("Tea", "Coffee", "Cocoa")
    rows = []
    for i in range(24):
        units = 5 + (i * 7) % 23
        price = (2.5, 3.75, 4.0)[i % 3]
        rows.append({"month": _MONTHS[i % 12], "region": regions[i % 4], "product": products[i % 3],
                     "units": units, "price": price, "revenue": round(units * price, 2)})
    return pd.DataFrame(rows)


def _staff():
    import pandas as pd

    return pd.DataFrame({
        "name": ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon"],
        "department": ["Engineering", "Sales", "Support", "Engineering", "Sales", "Engineering",
                       "Support", "Sales", "Engineering", "Support"],
        "age": [34, 45, 29, 52, 38, 41, 26, 59, 31, 47],
        "salary": [72000, 58000, 41000, 91000, 63000, 80500, 39000, 67000, 69000, 45500],
        "city": ["Leeds", "York", "Leeds", "Bath", "York", "Leeds", "Bath", "York", "Bath", "Leeds"],
    })


def _weather():
    import pandas as pd

    cities = ("Oslo", "Lisbon", "Vienna")
    rows = []
    for day in range(1, 16):
        for j, city in enumerate(cities):
            temp = (3.5, 17.0, 9.0)[j] + ((day * (j + 3)) % 7) - 3
            rain = float((day * (j + 2) * 3) % 11)
            rows.append({"date": f"2026-03-{day:02d}", "city": city, "temp_c": temp, "rain_mm": rain})
    return pd.DataFrame(rows)


def _orders():
    import pandas as pd

    return pd.DataFrame({"order_id": list(range(101, 113)),
                         "customer_id": [1, 2, 3, 1, 4, 2, 5, 3, 1, 4, 5, 2],
                         "amount": [25.0, 40.5, 12.0, 60.0, 8.5, 33.0, 19.9, 75.0, 14.0, 22.0, 51.5, 9.0]})


def _customers():
    import pandas as pd

    return pd.DataFrame({"customer_id": [1, 2, 3, 4, 5],
                         "name": ["Mara", "Tomas", "Keiko", "Luis", "Ona"],
                         "country": ["Spain", "Czechia", "Japan", "Mexico", "Kenya"]})


#: Input name -> a factory of its DataFrame. Names with an extension become files.
TABLES: dict[str, Callable[[], Any]] = {
    "sales": _sales,
    "staff": _staff,
    "weather.csv": _weather,
    "orders": _orders,
    "customers": _customers,
}


@dataclass(frozen=True)
class Tables:
    """What a task sees: every table by name (files too), fresh copies."""

    frames: dict[str, Any]

    def __getitem__(self, name: str):
        return self.frames[name].copy()


def build_tables(folder, names: tuple[str, ...]) -> tuple[Tables, dict[str, Any]]:
    """Every table of :data:`TABLES`, and the inputs ``names`` (files written into ``folder``)."""
    from pathlib import Path

    frames = {name: make() for name, make in TABLES.items()}
    inputs: dict[str, Any] = {}
    for name in names:
        frame = frames[name]
        if name.endswith(".csv"):
            frame.to_csv(Path(folder) / name, index=False)
        else:
            inputs[name] = frame.copy()
    return Tables(frames), inputs


# --- checks -------------------------------------------------------------------------------------------


def table_of(result: Any):
    """The DataFrame a result holds (an AgentTable, a DataFrame or a Series), or ``None``."""
    import pandas as pd

    raw = result.to_raw() if hasattr(result, "to_raw") else result
    if isinstance(raw, pd.Series):
        raw = raw.reset_index() if raw.index.name is not None or not isinstance(raw.index, pd.RangeIndex) \
            else raw.to_frame()
    return raw if isinstance(raw, pd.DataFrame) else None


def _kind(result: Any) -> str:
    return type(result).__name__


def _normal(frame, columns):
    """Rows as sorted tuples over ``columns`` (numbers rounded), index reset."""
    frame = frame.reset_index() if frame.index.name is not None or any(n is not None for n in frame.index.names) \
        else frame
    rows = []
    for record in frame[list(columns)].itertuples(index=False):
        rows.append(tuple(round(float(v), 4) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
                          for v in record))
    return rows


def rows_like(expected: Callable[[Tables], Any], *, ordered: bool = False, exact_columns: bool = False) -> Check:
    """The result is a table with the expected rows (over the expected table's columns; in order
    when ``ordered``; with exactly its columns when ``exact_columns``)."""
    def check(result, tables):
        got = table_of(result)
        if got is None:
            return f"not a table: {_kind(result)}"
        want = expected(tables)
        want = want.reset_index() if want.index.name is not None else want
        if got.index.name is not None or any(n is not None for n in got.index.names):
            got = got.reset_index()
        missing = [c for c in want.columns if c not in got.columns]
        if missing:
            return f"columns {missing} missing; got {list(got.columns)}"
        if exact_columns and list(got.columns) != list(want.columns):
            return f"columns {list(got.columns)}, expected {list(want.columns)}"
        a, b = _normal(got, want.columns), _normal(want, want.columns)
        if len(a) != len(b):
            return f"{len(a)} rows, expected {len(b)}"
        if (a if ordered else sorted(a)) != (b if ordered else sorted(b)):
            return "other rows" + (" or order" if ordered else "")
        return None

    return check


def columns_are(expected: tuple[str, ...]) -> Check:
    """The result lists exactly these column names (a list, or a text naming each of them)."""
    def check(result, tables):
        raw = result.to_raw() if hasattr(result, "to_raw") else result
        if isinstance(raw, (list, tuple)):
            got = [str(x) for x in raw]
            return None if got == list(expected) else f"{got}, expected {list(expected)}"
        if isinstance(raw, str):
            missing = [c for c in expected if c not in raw]
            return None if not missing else f"text without {missing}"
        return f"not a list of columns: {_kind(result)}"

    return check


def value_is(expected: Callable[[Tables], float], *, tolerance: float = 0.01) -> Check:
    """The result is the number ``expected(tables)`` (or a text whose only number it is)."""
    import re

    def check(result, tables):
        want = float(expected(tables))
        raw = result.to_raw() if hasattr(result, "to_raw") else result
        if isinstance(raw, bool):
            return "not a number: bool"
        if isinstance(raw, str):
            found = re.findall(r"-?\d+(?:\.\d+)?", raw.replace(",", ""))
            if len(found) != 1:
                return f"not one number: {raw[:40]!r}"
            raw = float(found[0])
        try:
            got = float(raw)
        except (TypeError, ValueError):
            return f"not a number: {_kind(result)}"
        return None if abs(got - want) <= tolerance * max(1.0, abs(want)) else f"{got:g}, expected {want:g}"

    return check


def chart(kind: str) -> Check:
    """The result is a chart image of ``kind`` (``line``, ``bar``, ``scatter``, ``histogram``,
    ``pie``): an image that is not blank, whose ``info["chart"]`` names the kind."""
    def check(result, tables):
        raw = result.to_raw() if hasattr(result, "to_raw") else result
        if not hasattr(raw, "getextrema") or not hasattr(raw, "info"):
            return f"not an image: {_kind(result)}"
        extrema = raw.convert("L").getextrema()
        if extrema[0] == extrema[1]:
            return "a blank image"
        got = raw.info.get("chart")
        return None if got == kind else f"a {got or 'non-chart'} image, expected a {kind} chart"

    return check


def summary_of(columns: tuple[str, ...]) -> Check:
    """The result is a summary table: it covers ``columns`` and shows a mean for them."""
    def check(result, tables):
        got = table_of(result)
        if got is None:
            return f"not a table: {_kind(result)}"
        text = got.to_string().lower()
        missing = [c for c in columns if c.lower() not in text]
        if missing:
            return f"summary without {missing}"
        return None if "mean" in text else "summary without a mean"

    return check


# --- the held-out suite (written before the tools existed; never tuned on) ----------------------------

HELD_OUT = (
    TableTask("How many rows does the sales table have?", ("sales",),
              value_is(lambda t: len(t["sales"]), tolerance=0), "result = count_rows(table=sales)"),
    TableTask("Which columns are in staff?", ("staff",),
              columns_are(("name", "department", "age", "salary", "city")), "result = list_columns(table=staff)"),
    TableTask("What is the total revenue in sales?", ("sales",),
              value_is(lambda t: t["sales"]["revenue"].sum()),
              'result = column_value(table=sales, column="revenue", how="sum")'),
    TableTask("What's the average salary of the staff?", ("staff",),
              value_is(lambda t: t["staff"]["salary"].mean()),
              'result = column_value(table=staff, column="salary", how="mean")'),
    TableTask("Show me only the sales from the North region.", ("sales",),
              rows_like(lambda t: t["sales"][t["sales"]["region"] == "North"]),
              'result = filter_rows(table=sales, column="region", op="==", value="North")'),
    TableTask("Give me the staff who are older than 40.", ("staff",),
              rows_like(lambda t: t["staff"][t["staff"]["age"] > 40]),
              'result = filter_rows(table=staff, column="age", op=">", value=40)'),
    TableTask("Sort the staff by salary, highest first.", ("staff",),
              rows_like(lambda t: t["staff"].sort_values("salary", ascending=False), ordered=True),
              'result = sort_rows(table=staff, column="salary", descending=True)'),
    TableTask("Total units sold per region.", ("sales",),
              rows_like(lambda t: t["sales"].groupby("region", as_index=False)["units"].sum()),
              'result = group_and_aggregate(table=sales, by="region", column="units", how="sum")'),
    TableTask("What is the highest temperature in weather.csv?", ("weather.csv",),
              value_is(lambda t: t["weather.csv"]["temp_c"].max()),
              'table = read_table(path="weather.csv")\nresult = column_value(table=table, column="temp_c", how="max")'),
    TableTask("Load weather.csv and show the days with more than 5 mm of rain.", ("weather.csv",),
              rows_like(lambda t: t["weather.csv"][t["weather.csv"]["rain_mm"] > 5]),
              'table = read_table(path="weather.csv")\nresult = filter_rows(table=table, column="rain_mm", op=">", value=5)'),
    TableTask("Who are the three best-paid people in staff?", ("staff",),
              rows_like(lambda t: t["staff"].nlargest(3, "salary")),
              'result = top_rows(table=staff, column="salary", n=3)'),
    TableTask("Plot the revenue by month as a line chart.", ("sales",), chart("line"),
              'result = line_chart(table=sales, x="month", y="revenue")'),
    TableTask("Make a bar chart of units for each product.", ("sales",), chart("bar"),
              'result = bar_chart(table=sales, x="product", y="units")'),
    TableTask("Draw a histogram of the staff ages.", ("staff",), chart("histogram"),
              'result = histogram(table=staff, column="age")'),
    TableTask("Show salary against age as a scatter plot.", ("staff",), chart("scatter"),
              'result = scatter_chart(table=staff, x="age", y="salary")'),
    TableTask("A pie chart of revenue by region, please.", ("sales",), chart("pie"),
              'result = pie_chart(table=sales, labels="region", values="revenue")'),
    TableTask("Join the orders with the customers on customer_id.", ("orders", "customers"),
              rows_like(lambda t: t["orders"].merge(t["customers"], on="customer_id")),
              'result = join_tables(left=orders, right=customers, on="customer_id")'),
    TableTask("Keep just the name and salary columns of staff.", ("staff",),
              rows_like(lambda t: t["staff"][["name", "salary"]], exact_columns=True),
              'result = select_columns(table=staff, columns=["name", "salary"])'),
    TableTask("How many of the staff work in Engineering?", ("staff",),
              value_is(lambda t: (t["staff"]["department"] == "Engineering").sum(), tolerance=0),
              'table = filter_rows(table=staff, column="department", op="==", value="Engineering")\n'
              'result = count_rows(table=table)'),
    TableTask("What was the mean temperature in Oslo according to weather.csv?", ("weather.csv",),
              value_is(lambda t: t["weather.csv"].query("city == 'Oslo'")["temp_c"].mean()),
              'table = read_table(path="weather.csv")\n'
              'table = filter_rows(table=table, column="city", op="==", value="Oslo")\n'
              'result = column_value(table=table, column="temp_c", how="mean")'),
    TableTask("Summarise the staff table for me.", ("staff",), summary_of(("age", "salary")),
              "result = describe_table(table=staff)"),
    TableTask("What are the average units per product in sales?", ("sales",),
              rows_like(lambda t: t["sales"].groupby("product", as_index=False)["units"].mean()),
              'result = group_and_aggregate(table=sales, by="product", column="units", how="mean")'),
)

TABLE_SUITES: dict[str, tuple[TableTask, ...]] = {
    "tables-held-out": HELD_OUT,
}
