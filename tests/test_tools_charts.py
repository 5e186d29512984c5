"""The chart tools, checked by their pixels: not blank, bars of the right relative heights, pie
slices of the right shares, a line unlike a pie; titles and labels; bad input; no pyplot."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from nbagents import Agent, ScriptedEngine
from nbagents.errors import ColumnTypeError, EmptyResultError, TableError, UnknownColumnError
from nbagents.results import AgentImage
from nbagents.tools.charts import (
    CHART_SIZE,
    FUNCTIONS,
    MAX_BARS,
    bar_chart,
    chart_tools,
    histogram,
    line_chart,
    pie_chart,
    scatter_chart,
)
from nbagents.tools.defaults import default_tools

BLUE = (31, 119, 180)  # matplotlib's first colour (C0), the bars' colour
TAB10 = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


@pytest.fixture(scope="module")
def sales():
    return pd.DataFrame({"region": ["North", "South", "East", "West"], "units": [8, 2, 4, 6],
                         "price": [1.5, 2.0, 3.0, 4.5]})


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(int)


def near(arr: np.ndarray, colour: tuple[int, int, int], tol: int = 12) -> np.ndarray:
    return (np.abs(arr - np.array(colour)) <= tol).all(axis=2)


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True."""
    out, start = [], None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i))
            start = None
    return out


def bar_heights(image) -> list[int]:
    """The height in pixels of each bar, left to right (bar-coloured pixels in its middle column)."""
    mask = near(pixels(image), BLUE)
    columns = mask.sum(axis=0) > 3
    return [int(mask[:, (a + b) // 2].sum()) for a, b in runs(columns) if b - a >= 5]


def assert_not_blank(image) -> None:
    arr = pixels(image)
    assert image.size == CHART_SIZE
    not_white = (arr < 240).any(axis=2).mean()
    assert 0.01 < not_white < 0.9, not_white
    assert len(np.unique(arr.reshape(-1, 3), axis=0)) > 20


def test_a_bar_chart_has_one_bar_per_category_of_the_right_height(sales):
    image = bar_chart(sales, "region", "units")
    assert_not_blank(image)
    heights = bar_heights(image)
    assert len(heights) == 4
    assert [h / heights[0] for h in heights] == pytest.approx([1, 2 / 8, 4 / 8, 6 / 8], abs=0.02)
    assert image.info == {"chart": "bar", "title": "units by region", "x_label": "region", "y_label": "units"}


def test_a_bar_chart_sums_repeated_categories_and_caps_many(sales):
    repeated = pd.DataFrame({"region": ["A", "B", "A"], "units": [1, 2, 3]})
    image = bar_chart(repeated, "region", "units")
    heights = bar_heights(image)
    assert len(heights) == 2 and heights[1] / heights[0] == pytest.approx(2 / 4, abs=0.02)
    assert image.info["title"] == "units by region (summed)" and image.info["y_label"] == "units (total)"
    many = pd.DataFrame({"product": [f"product number {i}" for i in range(80)], "units": range(1, 81)})
    image = bar_chart(many, "product", "units")
    assert len(bar_heights(image)) == MAX_BARS
    assert image.info["title"] == f"units by product (the largest {MAX_BARS} of 80)"
    heights = bar_heights(image)
    assert heights == sorted(heights, reverse=True) and heights[-1] / heights[0] == pytest.approx(51 / 80, abs=0.02)


def test_a_pie_chart_has_slices_of_the_right_shares(sales):
    image = pie_chart(sales, "region", "units", title="Units")
    assert_not_blank(image)
    arr = pixels(image)
    areas = np.array([near(arr, c, tol=8).sum() for c in TAB10[:4]], dtype=float)
    assert areas.min() > 0
    assert list(areas / areas.sum()) == pytest.approx([8 / 20, 2 / 20, 4 / 20, 6 / 20], abs=0.02)
    assert near(arr, TAB10[4]).sum() == 0  # four slices, not five
    assert image.info["chart"] == "pie" and image.info["title"] == "Units"


def test_a_pie_chart_of_many_labels_keeps_the_largest_and_other():
    frame = pd.DataFrame({"name": [f"n{i}" for i in range(15)], "share": range(1, 16)})
    image = pie_chart(frame, "name", "share")
    assert image.info["title"] == "share by name (the largest 9 and other)"


def test_a_line_chart_is_a_thin_line_across_the_plot_unlike_a_pie(sales):
    frame = pd.DataFrame({"day": range(30), "temp": np.sin(np.arange(30) / 4) * 10 + 20})
    line = line_chart(frame, "day", "temp")
    assert_not_blank(line)
    blue = near(pixels(line), BLUE, tol=30)
    columns = np.flatnonzero(blue.any(axis=0))
    assert columns.max() - columns.min() > 0.7 * CHART_SIZE[0]  # it spans the plot
    assert blue.mean() < 0.05  # and is thin
    pie = near(pixels(pie_chart(sales, "region", "units")), BLUE)
    assert pie.mean() > 4 * blue.mean()
    assert line.info == {"chart": "line", "title": "temp by day", "x_label": "day", "y_label": "temp"}


def test_a_line_chart_follows_its_x_order_and_takes_dates_and_categories():
    frame = pd.DataFrame({"x": [3, 1, 2], "y": [30, 10, 20]})
    rising = pixels(line_chart(frame, "x", "y"))
    blue = near(rising, BLUE, tol=30)
    cols = np.flatnonzero(blue.any(axis=0))
    left, right = cols[: len(cols) // 5], cols[-len(cols) // 5:]
    top_left = np.flatnonzero(blue[:, left].any(axis=1)).mean()
    top_right = np.flatnonzero(blue[:, right].any(axis=1)).mean()
    assert top_right < top_left  # sorted by x, the line rises left to right (rows count down)
    dates = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=12, freq="MS"), "n": range(12)})
    assert_not_blank(line_chart(dates, "when", "n"))
    assert_not_blank(line_chart(pd.DataFrame({"month": ["Jan", "Feb", "Mar"], "n": [3, 1, 2]}), "month", "n"))


def test_scatter_and_histogram(sales):
    points = scatter_chart(sales, "units", "price")
    assert_not_blank(points)
    assert points.info == {"chart": "scatter", "title": "price against units", "x_label": "units",
                           "y_label": "price"}
    values = pd.DataFrame({"v": [1] * 10 + [5] * 5 + [9] * 20})
    hist = histogram(values, "v", bins=3)
    heights = bar_heights(hist)
    assert len(heights) == 3
    assert [h / heights[2] for h in heights] == pytest.approx([10 / 20, 5 / 20, 1], abs=0.02)
    assert hist.info["title"] == "Distribution of v" and hist.info["y_label"] == "rows"


def test_chart_errors_say_what_to_do(sales):
    with pytest.raises(UnknownColumnError, match="its columns: region, units, price"):
        bar_chart(sales, "regoin", "units")
    with pytest.raises(ColumnTypeError, match="Numeric columns: units, price"):
        bar_chart(sales, "units", "region")
    with pytest.raises(ColumnTypeError):
        scatter_chart(sales, "region", "units")
    with pytest.raises(EmptyResultError, match="The table has no rows, so there is nothing to draw"):
        line_chart(sales.head(0), "region", "units")
    with pytest.raises(EmptyResultError, match="No row has a value in 'v'"):
        histogram(pd.DataFrame({"v": [np.nan, np.nan]}), "v")
    with pytest.raises(TableError, match="needs values of at least 0"):
        pie_chart(pd.DataFrame({"a": ["x", "y"], "b": [1, -1]}), "a", "b")
    with pytest.raises(EmptyResultError, match="Every value of 'b' is 0"):
        pie_chart(pd.DataFrame({"a": ["x", "y"], "b": [0, 0]}), "a", "b")
    with pytest.raises(TableError, match="`bins` must be between 1 and 200, got 0"):
        histogram(sales, "units", bins=0)


def test_charts_drawn_in_threads_match_those_drawn_one_by_one(sales):
    calls = [lambda: bar_chart(sales, "region", "units"), lambda: pie_chart(sales, "region", "price"),
             lambda: scatter_chart(sales, "units", "price"), lambda: histogram(sales, "units")] * 2
    alone = [np.asarray(c()) for c in calls]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda c: np.asarray(c()), calls))
    assert all((a == b).all() for a, b in zip(alone, together))


def test_no_pyplot_and_imports_on_use():
    code = (
        "import sys\nimport nbagents.tools.charts as c, nbagents.tools.tables\n"
        "print('pandas' in sys.modules, 'matplotlib' in sys.modules)\n"
        "import pandas as pd\nc.bar_chart(pd.DataFrame({'a': ['x'], 'b': [1]}), 'a', 'b')\n"
        "print('matplotlib' in sys.modules, 'matplotlib.pyplot' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "True", "False"]


def test_chart_tools_are_default_tools_giving_images(sales):
    defaults = {t.name: t for t in default_tools(model_tools="none")}
    for fn in FUNCTIONS:
        assert defaults[fn.__name__].output_type == "image"
    bar = defaults["bar_chart"]
    assert bar.signature(short=True) == "bar_chart(table: Table, x: str, y: str, title: str = '') -> Image"
    assert not bar.inputs[1].column.numeric and bar.inputs[2].column.numeric
    scatter = defaults["scatter_chart"]
    assert scatter.inputs[1].column.numeric and scatter.inputs[2].column.numeric
    assert isinstance(bar(table=sales, x="region", y="units"), AgentImage)
    summaries = [t.summary for t in chart_tools()]
    assert len(set(summaries)) == len(summaries)


def test_an_agent_draws_a_chart_of_a_grouped_table(sales):
    program = ('totals = group_and_aggregate(table=sales, by="region", column="units", how="sum")\n'
               'result = bar_chart(table=totals, x="region", y="units", title="Units per region")\n')
    agent = Agent(ScriptedEngine([f"```py\n{program}```"]))
    result = agent.run("A bar chart of the units per region.", sales=sales)
    assert isinstance(result, AgentImage) and result.to_raw().info["title"] == "Units per region"
    heights = bar_heights(result.to_raw())  # the regions in order: East, North, South, West
    assert [h / heights[1] for h in heights] == pytest.approx([4 / 8, 1, 2 / 8, 6 / 8], abs=0.02)
