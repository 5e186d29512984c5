"""Tables and charts in a real JupyterLab, driven through Chromium (issue 21).

One notebook (made in the test's temp dir, next to a copy of the tutorials' ``bakery.csv``): a
DataFrame read with pandas, then two ``%%agent`` cells on scripted replies (the test is about
rendering, not the model). The first returns a filtered table: the page must show an HTML table
with the DataFrame's headers and exactly the filtered rows, and its shape under it. The second
returns a bar chart: the page must show the PNG, loaded at 800 x 500, with the four bars drawn.
Screenshot: ``test-artifacts/browser-tables.png`` (on a failure, ``browser-tables-failure.png``).
"""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import nbformat
import pytest
from browser_helpers import (
    ARTIFACTS,
    chromium_page,
    jupyter_lab,
    open_notebook,
    require_chromium,
    run_command,
    wait_kernel_idle,
)

pytestmark = pytest.mark.browser

CSV = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "bakery.csv"

REPLIES = [
    'I will keep the Croissant rows.\n```py\n'
    'result = filter_rows(table=bakery, column="product", op="==", value="Croissant")\n```',
    'I will draw the revenue of each product.\n```py\n'
    'result = bar_chart(table=bakery, x="product", y="revenue")\n```',
]

SETUP = f'''\
import pandas as pd

from nbagents import ScriptedEngine
from nbagents.magics import get_agent

bakery = pd.read_csv("bakery.csv")
get_agent().engine = ScriptedEngine({REPLIES!r}, model_id="scripted")
'''

CELLS = [
    "%load_ext nbagents",
    SETUP,
    "%%agent\nShow only the Croissant rows of `bakery`.",
    "%%agent\nMake a bar chart of revenue for each product in `bakery`.",
]
TABLE, CHART = 2, 3

# The rendered image: whether it loaded, its natural size, and its data.
IMAGE_FACTS = "img => ({complete: img.complete, width: img.naturalWidth, height: img.naturalHeight, src: img.src})"


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nbformat.write(nb, path)


def test_table_and_chart_results_render_in_jupyterlab(tmp_path):
    chromium = require_chromium()
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(CSV, root / "bakery.csv")
    _notebook(root / "tables.ipynb")
    ARTIFACTS.mkdir(exist_ok=True)
    with jupyter_lab(root, tmp_path / "lab") as lab, \
            chromium_page(chromium, height=1500) as (page, console):
        try:
            _check(page, lab)
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "browser-tables-failure.png"), full_page=True)
            raise
        assert not console.errors, console.errors


def _expected_rows() -> tuple[list[str], list[list[str]]]:
    """The headers and the Croissant rows, as pandas writes them into HTML."""
    import pandas as pd

    frame = pd.read_csv(CSV)
    kept = frame[frame["product"] == "Croissant"]
    body = kept.to_html(index=False).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [[cell.rsplit(">", 1)[1].strip() for cell in row.split("</td>")[:-1]] for row in body.split("</tr>")[:-1]]
    return list(frame.columns), rows


def _check(page, lab) -> None:
    import numpy as np
    from PIL import Image

    open_notebook(page, lab, "tables.ipynb")
    cells = page.locator(".jp-Notebook .jp-Cell")
    run_command(page, "notebook:run-all-cells")
    table = cells.nth(TABLE).locator(".jp-OutputArea table.nbagents-table")
    table.wait_for(timeout=60_000)
    image = cells.nth(CHART).locator(".jp-OutputArea img")
    image.first.wait_for(timeout=60_000)
    wait_kernel_idle(page)

    # The table: the DataFrame's headers, exactly the filtered rows, and its shape under it.
    headers, rows = _expected_rows()
    assert table.locator("thead th").all_inner_texts() == headers
    shown = [[c.strip() for c in row.locator("td").all_inner_texts()] for row in table.locator("tbody tr").all()]
    assert len(rows) == 10 and shown == rows, shown
    assert all(row[2] == "Croissant" for row in shown)
    out = cells.nth(TABLE).locator(".jp-OutputArea")
    assert out.locator(".nbagents-table-shape").inner_text() == "10 rows × 5 columns"
    assert "✓ agent run" in out.locator(".nbagents-run summary").inner_text()
    box = table.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200  # drawn, not collapsed

    # The chart: one PNG, loaded at its natural 800 x 500, drawn on the page, with four bars.
    assert image.count() == 1
    facts = image.evaluate(IMAGE_FACTS)
    assert facts["complete"] and (facts["width"], facts["height"]) == (800, 500), facts
    assert facts["src"].startswith("data:image/png;base64,")
    box = image.bounding_box()
    assert box is not None and box["width"] >= 400 and box["height"] >= 250
    chart = np.asarray(Image.open(io.BytesIO(base64.b64decode(facts["src"].split(",", 1)[1]))).convert("RGB"))
    bars = (chart.astype(int) == (31, 119, 180)).all(axis=-1).any(axis=0)  # the bars' fill colour
    starts = np.flatnonzero(np.diff(bars.astype(int)) == 1)
    assert len(starts) == 4, starts

    cells.nth(TABLE).evaluate("cell => cell.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.mouse.move(0, 0)
    page.screenshot(path=str(ARTIFACTS / "browser-tables.png"))
