"""Table tasks with outcome checks (issue 21): DataFrames in, tables, numbers and charts out.

The first held-out suite (``tables-held-out``) was written first and committed on its own, before
the table tools existed and before any tuning: everyday wording, checked by outcome only (the right
rows, the right number, a chart of the right kind). It was measured once on the first tools (10/22
right), then used while tuning the router and the grammar for tables: it is the development set
now, reported as "seen while tuning". The second held-out suite
(``tables-held-out-2``) was written by a helper session (branch h/tablesblind) on 2026-12-04, blind:
without seeing the routing, grammar or prompt code or any run of the agent, and committed on its own
before being measured; it asks about its own tables (``inventory``, ``suppliers``, ``books`` and the
file ``trips.json``) in other everyday wording. The third held-out suite (``tables-held-out-3``) was
written blind by a helper on 2026-12-04 (branch h/tablesblind3), committed on its own before being
measured; its tables are ``league``, ``marks``, ``pupils``, ``energy`` and the files ``footfall.csv``
and ``fleet.tsv``.

Inputs are named in :data:`TABLES`: a name without an extension is handed to the agent as a
pandas DataFrame; a name with one (``weather.csv``, ``trips.json``, ``fleet.tsv``) is written into the
task's folder as that file (JSON as a list of records, TSV tab-separated).
Expected outcomes are computed with pandas directly, never with the tools under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["TableTask", "TABLES", "TABLE_SUITES", "rows_like", "value_is", "chart", "columns_are",
           "summary_of", "table_of", "counts_per", "build_tables"]

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


def _inventory():
    import pandas as pd

    items = [  # item_name, category, unit_price, stock_qty (prices and stocks all differ)
        ("Stapler", "Office Supplies", 6.5, 40), ("Printer Paper", "Office Supplies", 4.2, 120),
        ("Ballpoint Pens", "Office Supplies", 1.8, 300), ("Desk Lamp", "Office Supplies", 24.0, 15),
        ("Sticky Notes", "Office Supplies", 2.3, 210), ("Filing Cabinet", "Office Supplies", 89.0, 4),
        ("Whiteboard Markers", "Office Supplies", 3.6, 75), ("Chef Knife", "Kitchen", 32.5, 18),
        ("Cutting Board", "Kitchen", 12.0, 27), ("Coffee Mugs", "Kitchen", 4.9, 96),
        ("Kettle", "Kitchen", 27.0, 11), ("Dish Towels", "Kitchen", 3.1, 140),
        ("Measuring Cups", "Kitchen", 7.25, 33), ("Trowel", "Garden Tools", 8.4, 52),
        ("Pruning Shears", "Garden Tools", 18.9, 23), ("Watering Can", "Garden Tools", 14.5, 30),
        ("Garden Hose", "Garden Tools", 29.0, 9), ("Rake", "Garden Tools", 16.0, 21),
        ("Seed Trays", "Garden Tools", 2.75, 160), ("Wheelbarrow", "Garden Tools", 64.0, 6),
    ]
    return pd.DataFrame([{"sku": f"SKU-{201 + i}", "item_name": name, "category": category,
                          "unit_price": price, "stock_qty": stock, "supplier_id": 1 + i % 4}
                         for i, (name, category, price, stock) in enumerate(items)])


def _suppliers():
    import pandas as pd

    return pd.DataFrame({"supplier_id": [1, 2, 3, 4, 5],
                         "supplier_name": ["Brightway Ltd", "Nordic Home", "GreenThumb Co", "Pinnacle Office",
                                           "Harbor Goods"],
                         "country": ["United Kingdom", "Sweden", "Netherlands", "Ireland", "Portugal"]})


def _books():
    import pandas as pd

    rows = [  # title, author, genre, pages, year_published, rating (pages and years all differ)
        ("The Glass Orbit", "Mira Castell", "Science Fiction", 412, 1998, 4.6),
        ("Salt and Static", "Jonah Reyes", "Science Fiction", 288, 2011, 4.1),
        ("Red Harbour", "Ines Vale", "Mystery", 334, 1987, 3.9),
        ("The Quiet Ledger", "Paul Okafor", "Non Fiction", 256, 2019, 4.5),
        ("Ember Crown", "Lena Fischer", "Fantasy", 598, 2005, 4.8),
        ("Nine Lanterns", "Tomas Berg", "Mystery", 301, 1993, 4.2),
        ("Deep Field", "Mira Castell", "Science Fiction", 467, 2016, 4.4),
        ("Bread and Borders", "Ana Souza", "Non Fiction", 219, 2021, 3.7),
        ("The Long Thaw", "Jonah Reyes", "Science Fiction", 352, 2002, 4.5),
        ("Whistle Lane", "Ines Vale", "Mystery", 276, 2008, 4.0),
        ("Stormbinder", "Lena Fischer", "Fantasy", 645, 2013, 4.3),
        ("Counting Rivers", "Paul Okafor", "Non Fiction", 198, 1979, 4.7),
        ("Ash Meridian", "Kai Moreno", "Fantasy", 521, 1999, 3.8),
        ("The Tin Witness", "Tomas Berg", "Mystery", 389, 2017, 4.6),
        ("Orbital Gardens", "Kai Moreno", "Science Fiction", 433, 1984, 3.6),
        ("Field Notes on Fog", "Ana Souza", "Non Fiction", 241, 2023, 4.2),
    ]
    return pd.DataFrame(rows, columns=["title", "author", "genre", "pages", "year_published", "rating"])


def _trips():
    import pandas as pd

    destinations = ("New York", "San Francisco", "Mexico City", "Cape Town")
    base_km = (5850, 8950, 9200, 9650)
    rows = []
    for i in range(20):
        j = i % 4
        nights = 1 + (i * 5) % 9
        rows.append({"trip_date": f"2026-{1 + i // 2:02d}-{(3, 18)[i % 2]:02d}", "destination": destinations[j],
                     "distance_km": base_km[j] + (i * 37) % 120,
                     "cost_eur": round(240 + (i * 173) % 900 + nights * 85 + j * 0.5, 2), "nights": nights})
    return pd.DataFrame(rows)


def _league():
    import pandas as pd

    rows = [  # team, conference, won, drawn, goals_for, goals_against (points, goals all differ)
        ("Ashford United", "East", 18, 5, 54, 21), ("Brookvale Rovers", "West", 17, 4, 49, 25),
        ("Carrow Athletic", "East", 15, 6, 47, 28), ("Dunmore City", "West", 14, 7, 45, 30),
        ("Eastleigh Town", "West", 13, 5, 40, 34), ("Fenwick United", "East", 12, 6, 41, 33),
        ("Glenholme FC", "East", 11, 8, 38, 31), ("Harlow Wanderers", "West", 10, 7, 35, 36),
        ("Ivybridge Albion", "East", 9, 9, 33, 38), ("Jarrow Park", "West", 9, 6, 31, 40),
        ("Kingsbury Rangers", "West", 8, 5, 29, 42), ("Lowther United", "East", 6, 8, 27, 46),
        ("Millbrook Town", "West", 5, 7, 24, 50), ("Norwood Athletic", "East", 4, 5, 20, 55),
    ]
    return pd.DataFrame([{"team": team, "conference": conf, "played": 26, "won": won, "drawn": drawn,
                          "lost": 26 - won - drawn, "goals_for": gf, "goals_against": ga, "points": 3 * won + drawn}
                         for team, conf, won, drawn, gf, ga in rows])


def _marks():
    import pandas as pd

    marks = [  # per pupil 101..108: Maths, History, Biology (all marks differ)
        (72, 64, 81), (55, 43, 60), (88, 79, 91), (39, 52, 47), (66, 71, 58), (94, 85, 77), (41, 36, 50),
        (63, 68, 74),
    ]
    rows = []
    for i, trio in enumerate(marks):
        for subject, mark in zip(("Maths", "History", "Biology"), trio):
            grade = "A" if mark >= 80 else "B" if mark >= 65 else "C" if mark >= 50 else "D"
            rows.append({"student_id": 101 + i, "subject": subject, "mark": mark, "grade": grade})
    return pd.DataFrame(rows)


def _pupils():
    import pandas as pd

    return pd.DataFrame({"student_id": list(range(101, 109)),
                         "first_name": ["Amara", "Bilal", "Cerys", "Dmitri", "Esme", "Felix", "Gwen", "Hamza"],
                         "form": ["10A", "10B", "10A", "10C", "10B", "10A", "10C", "10B"],
                         "house": ["Oak", "Ash", "Elm", "Oak", "Elm", "Ash", "Ash", "Oak"]})


def _energy():
    import pandas as pd

    season = (420, 380, 260, 120, -40, -150, -210, -180, -60, 90, 240, 390)
    rows = []
    for i in range(24):
        meter = ("Office", "Warehouse")[i % 2]
        kwh = (450, 1300)[i % 2] + season[i // 2] + (i * 13) % 29
        rows.append({"month": _MONTHS[i // 2], "meter": meter, "kwh": kwh, "bill_gbp": round(kwh * 0.24 + 12, 2)})
    return pd.DataFrame(rows)


def _footfall():
    import pandas as pd

    days = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # 2026-11-01 is a Sunday
    skies = ("Sunny", "Cloudy", "Rain", "Cloudy", "Rain", "Sunny", "Cloudy")
    rows = []
    for d in range(1, 29):
        visitors = 140 + (d * 53) % 190 + (60 if (d + 6) % 7 in (5, 6) else 0)
        rows.append({"date": f"2026-11-{d:02d}", "weekday": days[(d - 1) % 7], "weather": skies[(d * 3) % 7],
                     "visitors": visitors, "sales_gbp": round(visitors * 11.4 + (d * 37) % 90, 2)})
    return pd.DataFrame(rows)


def _fleet():
    import pandas as pd

    rows = [  # vehicle_id, make, fuel, year, odometer_km, depot (odometers all differ)
        ("VAN-01", "Ford", "Diesel", 2017, 148200, "Bristol"), ("VAN-02", "Ford", "Diesel", 2019, 96400, "Derby"),
        ("VAN-03", "Renault", "Electric", 2022, 31800, "Bristol"), ("VAN-04", "Vauxhall", "Diesel", 2018, 122750, "Derby"),
        ("CAR-05", "Toyota", "Hybrid", 2021, 58300, "Bristol"), ("CAR-06", "Toyota", "Hybrid", 2020, 74100, "Norwich"),
        ("VAN-07", "Mercedes", "Diesel", 2016, 171900, "Norwich"), ("CAR-08", "Kia", "Electric", 2023, 12650, "Derby"),
        ("CAR-09", "Skoda", "Petrol", 2019, 88900, "Bristol"), ("VAN-10", "Renault", "Electric", 2021, 44200, "Norwich"),
        ("CAR-11", "Skoda", "Petrol", 2022, 27400, "Derby"), ("TRK-12", "Volvo", "Diesel", 2015, 203500, "Bristol"),
        ("CAR-13", "Kia", "Hybrid", 2018, 101300, "Norwich"), ("VAN-14", "Ford", "Electric", 2024, 6900, "Bristol"),
        ("CAR-15", "Vauxhall", "Petrol", 2017, 119600, "Derby"), ("TRK-16", "Volvo", "Diesel", 2020, 86750, "Norwich"),
    ]
    return pd.DataFrame(rows, columns=["vehicle_id", "make", "fuel", "year", "odometer_km", "depot"])


#: Input name -> a factory of its DataFrame. Names with an extension become files.
TABLES: dict[str, Callable[[], Any]] = {
    "sales": _sales,
    "staff": _staff,
    "weather.csv": _weather,
    "orders": _orders,
    "customers": _customers,
    "inventory": _inventory,
    "suppliers": _suppliers,
    "books": _books,
    "trips.json": _trips,
    "league": _league,
    "marks": _marks,
    "pupils": _pupils,
    "energy": _energy,
    "footfall.csv": _footfall,
    "fleet.tsv": _fleet,
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
        elif name.endswith(".tsv"):
            frame.to_csv(Path(folder) / name, sep="\t", index=False)
        elif name.endswith(".json"):
            frame.to_json(Path(folder) / name, orient="records", indent=1)
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


def counts_per(name: str, by: str) -> Check:
    """The result is a table with one row per ``by`` value of the table ``name`` and a column
    (of any name) holding how many rows each value has."""
    def check(result, tables):
        got = table_of(result)
        if got is None:
            return f"not a table: {_kind(result)}"
        if got.index.name is not None or any(n is not None for n in got.index.names):
            got = got.reset_index()
        if by not in got.columns:
            return f"column {by!r} missing; got {list(got.columns)}"
        want = tables[name][by].value_counts()
        if len(got) != len(want) or sorted(map(str, got[by])) != sorted(map(str, want.index)):
            return f"groups {sorted(map(str, got[by]))}, expected {sorted(map(str, want.index))}"
        for column in got.columns:
            if column == by:
                continue
            try:
                counts = {str(k): float(v) for k, v in zip(got[by], got[column])}
            except (TypeError, ValueError):
                continue
            if all(counts[str(k)] == float(v) for k, v in want.items()):
                return None
        return "no column holds the count of each group"

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

# --- the second held-out suite (written blind: no routing, grammar or prompt code read, no run seen) -----

def _books_of(t):
    return t["books"]


def _inventory_of(t):
    return t["inventory"]


def _trips_of(t):
    return t["trips.json"]


HELD_OUT_2 = (
    TableTask("What was our shortest trip in trips.json, in km?", ("trips.json",),
              value_is(lambda t: _trips_of(t)["distance_km"].min()),
              'table = read_table(path="trips.json")\nresult = column_value(table=table, column="distance_km", how="min")'),
    TableTask("Can you list the column names of inventory?", ("inventory",),
              columns_are(("sku", "item_name", "category", "unit_price", "stock_qty", "supplier_id")),
              "result = list_columns(table=inventory)"),
    TableTask("Add up the stock_qty of all the inventory items that aren't in Garden Tools.", ("inventory",),
              value_is(lambda t: _inventory_of(t).loc[_inventory_of(t)["category"] != "Garden Tools", "stock_qty"].sum()),
              'table = filter_rows(table=inventory, column="category", op="!=", value="Garden Tools")\n'
              'result = column_value(table=table, column="stock_qty", how="sum")'),
    TableTask("What is the biggest page count among the books?", ("books",),
              value_is(lambda t: _books_of(t)["pages"].max()),
              'result = column_value(table=books, column="pages", how="max")'),
    TableTask("How many Science Fiction books do we have?", ("books",),
              value_is(lambda t: (_books_of(t)["genre"] == "Science Fiction").sum(), tolerance=0),
              'table = filter_rows(table=books, column="genre", op="==", value="Science Fiction")\n'
              "result = count_rows(table=table)"),
    TableTask("What's the average page count of the books rated at least 4.5?", ("books",),
              value_is(lambda t: _books_of(t).loc[_books_of(t)["rating"] >= 4.5, "pages"].mean()),
              'table = filter_rows(table=books, column="rating", op=">=", value=4.5)\n'
              'result = column_value(table=table, column="pages", how="mean")'),
    TableTask("Just the title and pages of the books with more than 400 pages, please.", ("books",),
              rows_like(lambda t: _books_of(t).loc[_books_of(t)["pages"] > 400, ["title", "pages"]], exact_columns=True),
              'table = filter_rows(table=books, column="pages", op=">", value=400)\n'
              'result = select_columns(table=table, columns=["title", "pages"])'),
    TableTask("List the items in inventory that cost under 5.", ("inventory",),
              rows_like(lambda t: _inventory_of(t)[_inventory_of(t)["unit_price"] < 5]),
              'result = filter_rows(table=inventory, column="unit_price", op="<", value=5)'),
    TableTask("Open trips.json and keep only the trips of 3 nights or fewer.", ("trips.json",),
              rows_like(lambda t: _trips_of(t)[_trips_of(t)["nights"] <= 3]),
              'table = read_table(path="trips.json")\nresult = filter_rows(table=table, column="nights", op="<=", value=3)'),
    TableTask("Rank the books from oldest to newest by year_published.", ("books",),
              rows_like(lambda t: _books_of(t).sort_values("year_published"), ordered=True),
              'result = sort_rows(table=books, column="year_published")'),
    TableTask("Sort inventory so the most expensive items come first.", ("inventory",),
              rows_like(lambda t: _inventory_of(t).sort_values("unit_price", ascending=False), ordered=True),
              'result = sort_rows(table=inventory, column="unit_price", descending=True)'),
    TableTask("What were the dozen most expensive trips in trips.json?", ("trips.json",),
              rows_like(lambda t: _trips_of(t).nlargest(12, "cost_eur")),
              'table = read_table(path="trips.json")\nresult = top_rows(table=table, column="cost_eur", n=12)'),
    TableTask("How much did we make from each product in sales?", ("sales",),
              rows_like(lambda t: t["sales"].groupby("product", as_index=False)["revenue"].sum()),
              'result = group_and_aggregate(table=sales, by="product", column="revenue", how="sum")'),
    TableTask("What's the average rating per genre in books?", ("books",),
              rows_like(lambda t: _books_of(t).groupby("genre", as_index=False)["rating"].mean()),
              'result = group_and_aggregate(table=books, by="genre", column="rating", how="mean")'),
    TableTask("Count how many items each category has in inventory.", ("inventory",),
              counts_per("inventory", "category"),
              'result = group_and_aggregate(table=inventory, by="category", column="unit_price", how="count")'),
    TableTask("Break down trips.json by destination: what's the most we paid for one trip to each?", ("trips.json",),
              rows_like(lambda t: _trips_of(t).groupby("destination", as_index=False)["cost_eur"].max()),
              'table = read_table(path="trips.json")\n'
              'result = group_and_aggregate(table=table, by="destination", column="cost_eur", how="max")'),
    TableTask("What's the cheapest unit price in each category of inventory?", ("inventory",),
              rows_like(lambda t: _inventory_of(t).groupby("category", as_index=False)["unit_price"].min()),
              'result = group_and_aggregate(table=inventory, by="category", column="unit_price", how="min")'),
    TableTask("Combine inventory with suppliers so I can see who supplies each item.", ("inventory", "suppliers"),
              rows_like(lambda t: _inventory_of(t).merge(t["suppliers"], on="supplier_id")),
              'result = join_tables(left=inventory, right=suppliers, on="supplier_id")'),
    TableTask("Give me some summary statistics for the books table.", ("books",),
              summary_of(("pages", "year_published", "rating")), "result = describe_table(table=books)"),
    TableTask("Graph the trip costs over time from trips.json as a line.", ("trips.json",), chart("line"),
              'table = read_table(path="trips.json")\nresult = line_chart(table=table, x="trip_date", y="cost_eur")'),
    TableTask("Can you visualise the stock_qty of each category in inventory as a bar chart?", ("inventory",),
              chart("bar"), 'result = bar_chart(table=inventory, x="category", y="stock_qty")'),
    TableTask("Plot rating against pages for the books, as a scatter please.", ("books",), chart("scatter"),
              'result = scatter_chart(table=books, x="pages", y="rating")'),
    TableTask("Show me how the unit prices in inventory are spread, as a histogram with five bins.", ("inventory",),
              chart("histogram"), 'result = histogram(table=inventory, column="unit_price", bins=5)'),
    TableTask("What share of the total trip cost goes to each destination? Draw a pie from trips.json.",
              ("trips.json",), chart("pie"),
              'table = read_table(path="trips.json")\n'
              'result = pie_chart(table=table, labels="destination", values="cost_eur")'),
)

# --- the third held-out suite (written blind: no routing, grammar or prompt code read, no run seen) ------

def _league_of(t):
    return t["league"]


def _marks_of(t):
    return t["marks"]


def _energy_of(t):
    return t["energy"]


def _footfall_of(t):
    return t["footfall.csv"]


def _fleet_of(t):
    return t["fleet.tsv"]


HELD_OUT_3 = (
    TableTask("how many teams are in the league?", ("league",),
              value_is(lambda t: len(_league_of(t)), tolerance=0), "result = count_rows(table=league)"),
    TableTask("What fields does fleet.tsv have?", ("fleet.tsv",),
              columns_are(("vehicle_id", "make", "fuel", "year", "odometer_km", "depot")),
              'table = read_table(path="fleet.tsv")\nresult = list_columns(table=table)'),
    TableTask("What's the most points any side has got in the league?", ("league",),
              value_is(lambda t: _league_of(t)["points"].max()),
              'result = column_value(table=league, column="points", how="max")'),
    TableTask("In footfall.csv, on how many days did we get 200 visitors or fewer?", ("footfall.csv",),
              value_is(lambda t: (_footfall_of(t)["visitors"] <= 200).sum(), tolerance=0),
              'table = read_table(path="footfall.csv")\n'
              'table = filter_rows(table=table, column="visitors", op="<=", value=200)\n'
              "result = count_rows(table=table)"),
    TableTask("Which teams are on more than fifty points?", ("league",),
              rows_like(lambda t: _league_of(t)[_league_of(t)["points"] > 50]),
              'result = filter_rows(table=league, column="points", op=">", value=50)'),
    TableTask("What was the lowest mark anyone got in Maths?", ("marks",),
              value_is(lambda t: _marks_of(t).loc[_marks_of(t)["subject"] == "Maths", "mark"].min()),
              'table = filter_rows(table=marks, column="subject", op="==", value="Maths")\n'
              'result = column_value(table=table, column="mark", how="min")'),
    TableTask("How many kWh did we use altogether in the months where bill_gbp came in under 150?", ("energy",),
              value_is(lambda t: _energy_of(t).loc[_energy_of(t)["bill_gbp"] < 150, "kwh"].sum()),
              'table = filter_rows(table=energy, column="bill_gbp", op="<", value=150)\n'
              'result = column_value(table=table, column="kwh", how="sum")'),
    TableTask("For the teams with 40 points or more, what's their average goals_for?", ("league",),
              value_is(lambda t: _league_of(t).loc[_league_of(t)["points"] >= 40, "goals_for"].mean()),
              'table = filter_rows(table=league, column="points", op=">=", value=40)\n'
              'result = column_value(table=table, column="goals_for", how="mean")'),
    TableTask("I'd like the student_id and mark of every exam that isn't History.", ("marks",),
              rows_like(lambda t: _marks_of(t).loc[_marks_of(t)["subject"] != "History", ["student_id", "mark"]],
                        exact_columns=True),
              'table = filter_rows(table=marks, column="subject", op="!=", value="History")\n'
              'result = select_columns(table=table, columns=["student_id", "mark"])'),
    TableTask("Order the league by goals_against, tightest defence first.", ("league",),
              rows_like(lambda t: _league_of(t).sort_values("goals_against"), ordered=True),
              'result = sort_rows(table=league, column="goals_against")'),
    TableTask("Arrange footfall.csv with the busiest days at the top.", ("footfall.csv",),
              rows_like(lambda t: _footfall_of(t).sort_values("visitors", ascending=False), ordered=True),
              'table = read_table(path="footfall.csv")\n'
              'result = sort_rows(table=table, column="visitors", descending=True)'),
    TableTask("Which four teams have scored the most goals?", ("league",),
              rows_like(lambda t: _league_of(t).nlargest(4, "goals_for")),
              'result = top_rows(table=league, column="goals_for", n=4)'),
    TableTask("Sum up the kwh per meter in the energy readings.", ("energy",),
              rows_like(lambda t: _energy_of(t).groupby("meter", as_index=False)["kwh"].sum()),
              'result = group_and_aggregate(table=energy, by="meter", column="kwh", how="sum")'),
    TableTask("What does each subject average in marks?", ("marks",),
              rows_like(lambda t: _marks_of(t).groupby("subject", as_index=False)["mark"].mean()),
              'result = group_and_aggregate(table=marks, by="subject", column="mark", how="mean")'),
    TableTask("How many vehicles do we run on each fuel? The list is in fleet.tsv.", ("fleet.tsv",),
              counts_per("fleet.tsv", "fuel"),
              'table = read_table(path="fleet.tsv")\n'
              'result = group_and_aggregate(table=table, by="fuel", column="vehicle_id", how="count")'),
    TableTask("Find each pupil's best mark, by student_id.", ("marks",),
              rows_like(lambda t: _marks_of(t).groupby("student_id", as_index=False)["mark"].max()),
              'result = group_and_aggregate(table=marks, by="student_id", column="mark", how="max")'),
    TableTask("What's the lowest points total in each conference?", ("league",),
              rows_like(lambda t: _league_of(t).groupby("conference", as_index=False)["points"].min()),
              'result = group_and_aggregate(table=league, by="conference", column="points", how="min")'),
    TableTask("Merge marks and pupils on student_id so I can see names next to the marks.", ("marks", "pupils"),
              rows_like(lambda t: _marks_of(t).merge(t["pupils"], on="student_id")),
              'result = join_tables(left=marks, right=pupils, on="student_id")'),
    TableTask("Give me a quick statistical overview of the energy data.", ("energy",),
              summary_of(("kwh", "bill_gbp")), "result = describe_table(table=energy)"),
    TableTask("Chart the daily visitors in footfall.csv over the month as a line.", ("footfall.csv",), chart("line"),
              'table = read_table(path="footfall.csv")\nresult = line_chart(table=table, x="date", y="visitors")'),
    TableTask("Bar chart of points by team, please.", ("league",), chart("bar"),
              'result = bar_chart(table=league, x="team", y="points")'),
    TableTask("Is there a link between age and mileage? Scatter odometer_km against year from fleet.tsv.",
              ("fleet.tsv",), chart("scatter"),
              'table = read_table(path="fleet.tsv")\nresult = scatter_chart(table=table, x="year", y="odometer_km")'),
    TableTask("Show the distribution of exam marks as a histogram with eight bins.", ("marks",), chart("histogram"),
              'result = histogram(table=marks, column="mark", bins=8)'),
    TableTask("How is our electricity use split between the meters? Pie chart of kwh, please.", ("energy",),
              chart("pie"), 'result = pie_chart(table=energy, labels="meter", values="kwh")'),
)

TABLE_SUITES: dict[str, tuple[TableTask, ...]] = {
    "tables-held-out": HELD_OUT,
    "tables-held-out-2": HELD_OUT_2,
    "tables-held-out-3": HELD_OUT_3,
}
