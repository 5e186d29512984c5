"""Chart tools that need no model: line, bar, scatter, histogram and pie charts of a table's
columns, drawn with matplotlib's Agg backend into an image.

Each chart is its own ``matplotlib.figure.Figure`` (pyplot's global state is never touched, so
charts are safe in threads and never pop up a window), 800 x 500 pixels, titled (a title made from
the columns when none is given), with labelled axes and a tight layout; the image's ``info`` names
the chart's kind, title and axis labels. A bar or pie chart of the
same category twice sums it; one of many categories keeps the largest :data:`MAX_BARS` (or
:data:`MAX_SLICES`) and says so in its title. matplotlib is imported when a chart is drawn.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from ..deps import require
from ..errors import EmptyResultError, TableError
from ..tabular import Column, NumericColumn, Table, table_schema
from .base import Tool
from .builtin import builtin_tool
from .tables import as_frame, column_of, numeric_column

__all__ = [
    "FUNCTIONS",
    "CHART_SIZE",
    "MAX_BARS",
    "MAX_SLICES",
    "line_chart",
    "bar_chart",
    "scatter_chart",
    "histogram",
    "pie_chart",
    "chart_tools",
]

#: Width and height of a chart in pixels.
CHART_SIZE = (800, 500)
_DPI = 100
#: The most bars a bar chart draws (the largest ones).
MAX_BARS = 30
#: The most slices a pie chart draws (the rest are one "other" slice).
MAX_SLICES = 10


def _figure():
    require("matplotlib", extra="all", purpose="The chart tools")
    from matplotlib.figure import Figure

    return Figure(figsize=(CHART_SIZE[0] / _DPI, CHART_SIZE[1] / _DPI), dpi=_DPI)


def _render(fig: Any, kind: str) -> Image.Image:
    """The figure as an RGB image whose ``info`` says what it shows: ``chart`` (its kind),
    ``title``, ``x_label`` and ``y_label`` (for tests and outcome checks; not drawn)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.tight_layout()
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = image.convert("RGB")
    ax = fig.axes[0]
    image.info.update(chart=kind, title=ax.get_title(), x_label=ax.get_xlabel(), y_label=ax.get_ylabel())
    return image


def _rows(table: Any, *columns: Any) -> Any:
    """The table's rows with a value in every one of ``columns``; an error when none is left."""
    frame = as_frame(table)
    if len(frame) == 0:
        raise EmptyResultError("The table has no rows, so there is nothing to draw.",
                               hint="Check the filter that made it (count_rows shows 0), or chart the whole table.")
    kept = frame.dropna(subset=list(dict.fromkeys(columns)))
    if len(kept) == 0:
        raise EmptyResultError(f"No row has a value in {' and '.join(repr(str(c)) for c in dict.fromkeys(columns))}, "
                               "so there is nothing to draw.")
    return kept


def _title(ax: Any, title: Any, default: str, note: str = "") -> None:
    text = str(title).strip() if title else default
    ax.set_title(text + (f" ({note})" if note else ""), fontsize=14)


def _categories(frame: Any, x: Any, y: Any, cap: int) -> tuple[Any, str]:
    """``y`` summed per ``x`` value when values repeat, keeping the ``cap`` largest; and a note."""
    note = ""
    series = frame.set_index(x)[y]
    if series.index.has_duplicates:
        series = series.groupby(level=0, sort=False).sum()
        note = "summed"
    if len(series) > cap:
        note = ", ".join(filter(None, (note, f"the largest {cap} of {len(series)}")))
        series = series.nlargest(cap, keep="first")
    return series, note


def _label_categories(ax: Any, labels: list[str]) -> None:
    long = len(labels) > 6 or max((len(s) for s in labels), default=0) > 10
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([s if len(s) <= 24 else s[:23] + "…" for s in labels],
                       rotation=45 if long else 0, ha="right" if long else "center",
                       fontsize=9 if len(labels) > 15 else 10)


def _is_ordered(frame: Any, x: Any) -> bool:
    info = table_schema(frame[x]).columns[0]
    return info.kind in ("number", "datetime")


def line_chart(table: Table, x: Column, y: NumericColumn, title: str = "") -> Image.Image:
    """A line chart of `y` against `x` from `table`.

    Rows are sorted by `x` when it holds numbers or dates; `title` is optional.
    """
    frame = as_frame(table)
    x, y = column_of(frame, x), numeric_column(frame, y, purpose="the height of a line")
    rows = _rows(frame, x, y)
    if _is_ordered(rows, x):
        rows = rows.sort_values(x, kind="stable")
    fig = _figure()
    ax = fig.add_subplot()
    marker = "o" if len(rows) <= 50 else None
    if _is_ordered(rows, x):
        ax.plot(rows[x], rows[y], marker=marker, linewidth=2)
        if table_schema(rows[x]).columns[0].kind == "datetime":
            fig.autofmt_xdate()
    else:
        ax.plot(range(len(rows)), rows[y].to_numpy(), marker=marker, linewidth=2)
        _label_categories(ax, [str(v) for v in rows[x]])
    ax.set_xlabel(str(x))
    ax.set_ylabel(str(y))
    ax.grid(True, alpha=0.3)
    _title(ax, title, f"{y} by {x}")
    return _render(fig, "line")


def bar_chart(table: Table, x: Column, y: NumericColumn, title: str = "") -> Image.Image:
    """A bar chart of `y` for each `x` from `table`.

    `title` is optional. Repeated `x` values are summed; at most 30 bars (the largest) are drawn.
    """
    frame = as_frame(table)
    x, y = column_of(frame, x), numeric_column(frame, y, purpose="the height of a bar")
    series, note = _categories(_rows(frame, x, y), x, y, MAX_BARS)
    fig = _figure()
    ax = fig.add_subplot()
    ax.bar(range(len(series)), series.to_numpy(), color="#1f77b4")
    _label_categories(ax, [str(v) for v in series.index])
    ax.set_xlabel(str(x))
    ax.set_ylabel(f"{y} (total)" if "summed" in note else str(y))
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    _title(ax, title, f"{y} by {x}", note)
    return _render(fig, "bar")


def scatter_chart(table: Table, x: NumericColumn, y: NumericColumn, title: str = "") -> Image.Image:
    """A scatter chart of numbers `y` against `x` from `table`.

    Both columns hold numbers; `title` is optional.
    """
    frame = as_frame(table)
    x = numeric_column(frame, x, purpose="a scatter chart's x")
    y = numeric_column(frame, y, purpose="a scatter chart's y")
    rows = _rows(frame, x, y)
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(rows[x], rows[y], s=30 if len(rows) <= 500 else 8, alpha=0.8)
    ax.set_xlabel(str(x))
    ax.set_ylabel(str(y))
    ax.grid(True, alpha=0.3)
    _title(ax, title, f"{y} against {x}")
    return _render(fig, "scatter")


def histogram(table: Table, column: NumericColumn, bins: int = 10, title: str = "") -> Image.Image:
    """A histogram of the numbers in `column` of `table`.

    In `bins` bins (1 to 200); `title` is optional.
    """
    frame = as_frame(table)
    column = numeric_column(frame, column, purpose="a histogram")
    try:
        bins = int(bins)
    except (TypeError, ValueError) as e:
        raise TableError(f"`bins` must be a whole number, got {bins!r}.") from e
    if not 1 <= bins <= 200:
        raise TableError(f"`bins` must be between 1 and 200, got {bins}.")
    rows = _rows(frame, column)
    fig = _figure()
    ax = fig.add_subplot()
    ax.hist(rows[column].astype(float), bins=bins, edgecolor="white")
    ax.set_xlabel(str(column))
    ax.set_ylabel("rows")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    _title(ax, title, f"Distribution of {column}")
    return _render(fig, "histogram")


def pie_chart(table: Table, labels: Column, values: NumericColumn, title: str = "") -> Image.Image:
    """A pie chart of `values` shared out by `labels` in `table`.

    `title` is optional. Repeated labels are summed; beyond 10 slices the smallest are one "other" slice.
    """
    frame = as_frame(table)
    labels, values = column_of(frame, labels), numeric_column(frame, values, purpose="a pie slice")
    rows = _rows(frame, labels, values)
    if (rows[values] < 0).any():
        raise TableError(f"A pie chart needs values of at least 0; {str(values)!r} has negative ones.",
                         hint="Use bar_chart for values that can be negative.")
    series = rows.groupby(labels, sort=False)[values].sum()
    if float(series.sum()) <= 0:
        raise EmptyResultError(f"Every value of {str(values)!r} is 0, so a pie chart has no slices.")
    note = ""
    if len(series) > MAX_SLICES:
        series = series.sort_values(ascending=False)
        rest = series.iloc[MAX_SLICES - 1:].sum()
        series = series.iloc[:MAX_SLICES - 1]
        series.loc["other"] = rest
        note = f"the largest {MAX_SLICES - 1} and other"
    fig = _figure()
    ax = fig.add_subplot()
    ax.pie(series.to_numpy(), labels=[str(v) for v in series.index], autopct="%1.0f%%", startangle=90,
           counterclock=False, wedgeprops={"edgecolor": "white"})
    ax.set_aspect("equal")
    _title(ax, title, f"{values} by {labels}", note)
    return _render(fig, "pie")


# the tool functions of this module, in the order the toolbox lists them
FUNCTIONS = (line_chart, bar_chart, scatter_chart, histogram, pie_chart)


def chart_tools() -> list[Tool]:
    """Fresh instances of the chart tools."""
    return [builtin_tool(f) for f in FUNCTIONS]
