"""Notebooks executed in a real kernel (nbclient), on the embedded model and the scripted engine; the
saved file checked."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def execute(nb, path: Path = NOTEBOOKS):
    NotebookClient(nb, timeout=240, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(path)}}).execute()
    return nb


def cell_of(nb, source_start: str):
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start))


def outputs(cell, output_type: str) -> list[dict]:
    return [o for o in cell.outputs if o.output_type == output_type]


def widget_state(nb) -> dict:
    return nb.metadata["widgets"][WIDGET_STATE]["state"]


def inspector_models(nb) -> list[dict]:
    return [m["state"] for m in widget_state(nb).values()
            if m["model_name"] == "VBoxModel" and "nbagents-inspector" in m["state"].get("_dom_classes", [])]


def children(state: dict, model: dict) -> list[dict]:
    return [state[ref[len("IPY_MODEL_"):]] for ref in model["state"]["children"]]


def test_the_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOKS / "01-getting-started.ipynb", as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source
    assert "widgets" not in nb.metadata


def test_getting_started_notebook(tmp_path):
    nb = execute(nbformat.read(NOTEBOOKS / "01-getting-started.ipynb", as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not outputs(cell, "error"), cell.source
            for out in cell.outputs:  # no traceback, and the stream settled into the summary
                text = json.dumps(out.get("data", {})) + out.get("text", "")
                assert "Traceback" not in text and "writing…" not in text, cell.source

    # The embedded model, for real: a tone (audio), then a rotated image with the inspector open.
    tone = cell_of(nb, "%%agent\nMake a 440 Hz tone")
    [summary] = outputs(tone, "display_data")
    [result] = outputs(tone, "execute_result")
    md = summary["metadata"]["nbagents"]
    assert md["engine"] == "default" and md["error"] is None, md
    assert "<audio" in result["data"]["text/html"] and "audio/wav" in result["data"]["text/html"]
    assert md["result"]["type"].startswith("audio 1.00 s") and "make_tone(" in md["code"], md
    rotated = cell_of(nb, "%%agent --inspect\nRotate the image `photo`")
    [img] = outputs(rotated, "execute_result")
    assert "image/png" in img["data"]
    summary, view = outputs(rotated, "display_data")
    assert "inputs: photo (image 160x90)" in summary["data"]["text/plain"]
    assert summary["metadata"]["nbagents"]["code"].startswith("result = rotate_image(image=photo")
    assert WIDGET_VIEW in view["data"]

    # Two clauses, two lines in order, the task's own text; then an honest abstention, before any tool ran.
    two = cell_of(nb, "%%agent\nMake `photo` grayscale, then write")
    md = outputs(two, "display_data")[0]["metadata"]["nbagents"]
    assert md["error"] is None and md["code"].strip() == (
        'result = grayscale_image(image=photo)\nresult = draw_text(image=result, text="hello")'), md["code"]
    assert "image/png" in outputs(two, "execute_result")[0]["data"]
    [err] = cell_of(nb, "%%agent\nDraw me a picture of rivers").outputs
    text = err["data"]["text/plain"]
    assert text.startswith("Agent error in the route stage (NoToolError)")
    assert "'image_generator'" in text and "%agent tools add image_generator" in text and "Closest ready tools" in text
    assert err["metadata"]["nbagents"]["error"]["type"] == "NoToolError"

    first = cell_of(nb, "%%agent\nWhat is 7 times 6")
    [summary] = outputs(first, "display_data")
    [result] = outputs(first, "execute_result")
    assert result["data"]["text/plain"] == "45"
    md = summary["metadata"]["nbagents"]
    assert md["code"] == "result = 7 * 6 + 3"
    assert "What is 7 times 6, plus 3?" in md["prompt"]
    assert md["result"] == {"type": "int", "summary": "45"}
    assert md["engine"] == "fake:replies/01-getting-started.txt" and md["error"] is None
    assert summary["data"]["text/plain"].startswith("✓ agent run " + md["id"][:8])
    assert "<details" in summary["data"]["text/html"]

    greeting = cell_of(nb, "%%agent\nWrite a one-line greeting")
    assert outputs(greeting, "execute_result")[0]["data"]["text/plain"] == "Hello, Ada! Welcome to nbagents."  # AgentText shows as text, not a quoted repr
    assert "inputs: name (str)" in outputs(greeting, "display_data")[0]["data"]["text/plain"]
    assert outputs(cell_of(nb, "_.upper()"), "execute_result")[0]["data"]["text/plain"].startswith("'HELLO, ADA")

    image = cell_of(nb, "%%agent -o mirrored")
    [img] = outputs(image, "execute_result")
    assert set(img["data"]) == {"image/png", "text/plain"}
    assert outputs(cell_of(nb, "mirrored.size"), "execute_result")[0]["data"]["text/plain"] == "(160, 90)"
    assert "mirror_image" in outputs(cell_of(nb, "%agent tools"), "execute_result")[0]["data"]["text/html"]

    code = cell_of(nb, "%%agent --code")
    assert not outputs(code, "execute_result")
    assert "new cell below" in outputs(code, "display_data")[0]["data"]["text/plain"]

    review = cell_of(nb, "%%agent --review")
    summary, view = outputs(review, "display_data")
    assert WIDGET_VIEW in view["data"] and "nbagents-inspector" in view["data"]["text/html"]
    assert summary["metadata"]["nbagents"]["kind"] == "generate"

    inspected = cell_of(nb, "%%agent --inspect\nCount the letters")
    assert outputs(inspected, "execute_result")[0]["data"]["text/plain"] == "3"
    assert WIDGET_VIEW in outputs(inspected, "display_data")[1]["data"]

    failing = cell_of(nb, "%%agent\nList the files")
    [err] = failing.outputs
    assert err["output_type"] == "display_data"
    assert err["data"]["text/plain"].startswith("Agent error in the interpreter stage")
    assert "What to do:" in err["data"]["text/plain"] and "%agent inspect" in err["data"]["text/plain"]
    assert err["metadata"]["nbagents"]["error"]["stage"] == "interpreter"

    chat = cell_of(nb, "%agent_chat How many colors")
    assert outputs(chat, "execute_result")[0]["data"]["text/plain"] == "3"
    history = outputs(cell_of(nb, "%agent history 5"), "execute_result")[0]["data"]["text/plain"]
    assert "How many colors are in the list?" in history and "failed" in history

    # The widget state: the inspectors' HTML widgets carry the prompt, the Textarea the code.
    state = widget_state(nb)
    models = [m for m in state.values()
              if m["model_name"] == "VBoxModel" and "nbagents-inspector" in m["state"]["_dom_classes"]]
    assert len(models) == 4  # --inspect (embedded), --review, --inspect, %agent inspect
    texts = [m["state"].get("value", "") for m in state.values()
             if m["model_name"] in ("HTMLModel", "TextareaModel")]
    assert any("Add up the numbers from 1 to 10." in t for t in texts)
    assert "result = sum(range(1, 11))" in texts
    assert any("&#x27;\\nTask:&#x27;" in t for t in texts)  # the stop sequences, escapes visible
    outputs_models = [m["state"]["outputs"] for m in state.values() if m["model_name"] == "OutputModel"]
    assert any(o and o[-1]["data"]["text/plain"] == "3" for o in outputs_models)

    # Every run is in the history database.
    db = Path(os.environ["NBAGENTS_HISTORY_DB"])
    with sqlite3.connect(db) as conn:
        tasks = [r[0] for r in conn.execute("SELECT task FROM runs ORDER BY created")]
    assert tasks[0] == "Make a 440 Hz tone of one second." and len(tasks) == 13
    nbformat.validate(nb)
    nbformat.write(nb, tmp_path / "executed.ipynb")


def test_inspector_run_click_in_a_kernel(tmp_path):
    """Edit and Run in the kernel: the Output widget's saved state holds the new result."""
    cells = [
        "%load_ext nbagents",
        "from nbagents import ScriptedEngine\nfrom nbagents.magics import get_agent\n"
        "get_agent().engine = ScriptedEngine(['Doubling.\\n```py\\nresult = x * 2\\n```'])\nx = 21",
        "%%agent --review -o doubled\nDouble `x`.",
        "import ipywidgets\nfrom nbagents.inspector import Inspector\n"
        "[ins] = [w for w in ipywidgets.widgets.widget._instances.values() if isinstance(w, Inspector)]\n"
        "ins.edit_toggle.value = True\nins.code.value = 'print(\"tripled\")\\nresult = x * 3'\n"
        "ins.run_button.click()\nins",
        "doubled, ins.last_run.parent == ins.run.id, ins.last_run.kind",
        "%agent history",
        "%agent inspect",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    execute(nb, tmp_path)
    for cell in nb.cells:
        assert not outputs(cell, "error"), cell.outputs
    check = outputs(nb.cells[4], "execute_result")[0]["data"]["text/plain"]
    assert check == "(63, True, 'execute')"
    assert "execute" in outputs(nb.cells[5], "execute_result")[0]["data"]["text/plain"]
    last = outputs(nb.cells[6], "execute_result")[0]["data"]  # %agent inspect: the edited run
    assert "edited from" in last["text/html"] and "result = x * 3" in last["text/html"]

    state = widget_state(nb)
    view = outputs(nb.cells[3], "execute_result")[0]["data"][WIDGET_VIEW]
    inspector = state[view["model_id"]]
    assert "nbagents-inspector" in inspector["state"]["_dom_classes"]
    parts = {m["model_name"]: m for m in children(state, inspector)}
    assert parts["TextareaModel"]["state"]["value"] == 'print("tripled")\nresult = x * 3'
    assert parts["TextareaModel"]["state"]["disabled"] is False
    out = parts["OutputModel"]["state"]["outputs"]
    assert out[0] == {"output_type": "stream", "name": "stdout", "text": "tripled\n"}
    assert out[1]["data"]["text/plain"] == "63"
