"""The lab extension and real agent cells in a real JupyterLab, driven through Chromium.

Three tests. The first: one lab, one notebook (made in the test's temp dir): what a person would
see when they run agent cells with the scripted engine: the highlighted cells, the streamed model output, the
printed text, an image, an ``<audio>`` player, the inspector (prompt, stop sequences, Edit -> Run),
the nbagents commands in the palette and the engine in the status bar; no console errors. The
screenshots go to ``test-artifacts/browser-lab.png`` (the agent cells and the inspector) and
``test-artifacts/browser-lab-commands.png`` (the cells the palette commands made); on a failure,
``test-artifacts/browser-lab-failure.png``. The second runs the getting-started tutorial top to
bottom, its first cells on the embedded model. The third answers the approval widget of an ``ask``
tool (Allow once, Always, Deny) while its cell runs.
"""

from __future__ import annotations

import time

import nbformat
import pytest
from browser_helpers import (
    ARTIFACTS,
    chromium_page,
    jupyter_lab,
    open_notebook,
    require_chromium,
    run_command,
    start_command,
    wait_kernel_idle,
)

pytestmark = pytest.mark.browser

REPLIES = [
    'I will greet the browser.\n```py\nprint("printed by the agent program")\n'
    'result = "Hello, browser! " + "This reply was streamed in small pieces."\n```',
    "I will show the picture.\n```py\nresult = photo\n```",
    "I will play the sound.\n```py\nresult = sound\n```",
    "I will multiply the numbers.\n```py\nresult = 6 * 7\n```",
    'I will count the words.\n```py\nresult = len("one two three".split())\n```',
]

SETUP = f'''\
import time

import numpy as np
from PIL import Image, ImageDraw

from nbagents import AgentAudio, ScriptedEngine
from nbagents.magics import get_agent


class SlowScript(ScriptedEngine):
    """The scripted engine, slowed down so that the browser sees the output stream."""

    def _generate(self, messages, *, emit, **options):
        def slow(piece):
            time.sleep(0.03)
            return emit(piece)

        return super()._generate(messages, emit=slow, **options)


get_agent().engine = SlowScript({REPLIES!r}, model_id="scripted")
photo = Image.new("RGB", (160, 90), "navy")
ImageDraw.Draw(photo).polygon([(10, 80), (60, 10), (60, 80)], fill="gold")
sound = AgentAudio(np.sin(np.linspace(0, 440 * 2 * np.pi, 8000)).astype("float32"), samplerate=8000)
'''

CELLS = [
    "%load_ext nbagents",
    SETUP,
    "%%agent\nGreet the browser, and print a line while you do.",
    "%%agent\nShow the picture `photo`.",
    "%%agent\nPlay the sound `sound`.",
    "%%agent --inspect\nMultiply 6 by 7.",
]
GREET, PICTURE, SOUND, INSPECT = 2, 3, 4, 5

# Records what the streaming display showed of the model's output while it was written.
WATCH_STREAM = """() => {
    window.nbagentsStreamed = [];
    new MutationObserver(() => {
        for (const pre of document.querySelectorAll('.nbagents-stream pre')) {
            window.nbagentsStreamed.push(pre.textContent);
        }
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""

ACTIVE_CELL = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"


def _notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nbformat.write(nb, path)


def test_agent_cells_in_jupyterlab(tmp_path):
    chromium = require_chromium()
    root = tmp_path / "root"
    root.mkdir()
    _notebook(root / "agents.ipynb")
    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()
    with jupyter_lab(root, tmp_path / "lab") as lab, \
            chromium_page(chromium, height=1400) as (page, console):
        try:
            _check_lab(page, lab)
        except BaseException:
            _screenshot(page, "browser-lab-failure.png")
            raise
        assert not console.errors, console.errors
    assert time.monotonic() - started < 90


def _screenshot(page, name, top_cell=None):
    """Save what the window shows to test-artifacts/ (with ``top_cell`` scrolled to the top)."""
    if top_cell is not None:
        page.locator(".jp-Notebook .jp-Cell").nth(top_cell).evaluate(
            "cell => cell.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(200)
    page.mouse.move(0, 0)
    page.screenshot(path=str(ARTIFACTS / name))


def _check_lab(page, lab):
    open_notebook(page, lab, "agents.ipynb")
    for command in ("nbagents:insert-agent-cell", "nbagents:run-review", "nbagents:open-inspector"):
        assert page.evaluate("id => window.jupyterapp.commands.hasCommand(id)", command)
    cells = page.locator(".jp-Notebook .jp-Cell")

    # Agent cells are highlighted (magic line, task text), other cells are not.
    greet = cells.nth(GREET)
    assert greet.locator(".cm-nbagents-magic").inner_text() == "%%agent"
    assert "Greet the browser" in greet.locator(".cm-nbagents-prompt").inner_text()
    assert cells.nth(INSPECT).locator(".cm-nbagents-option").inner_text() == "--inspect"
    assert cells.nth(1).locator(".cm-nbagents-magic, .cm-nbagents-prompt").count() == 0

    # A kernel without nbagents: the status bar says so.
    status = page.locator(".jp-nbagents-status")
    status.get_by_text("nbagents: not loaded").wait_for()

    page.evaluate(WATCH_STREAM)
    run_command(page, "notebook:run-all-cells")
    inspector = cells.nth(INSPECT).locator(".nbagents-inspector")
    inspector.wait_for(timeout=30_000)
    wait_kernel_idle(page)

    # The model's output streamed into the cell, then settled into a summary and the result.
    streamed = page.evaluate("() => window.nbagentsStreamed")
    partial = [t for t in streamed if t and "This reply was streamed" not in t]
    assert len(set(partial)) >= 3 and any("I will greet" in t for t in partial), streamed
    greet_out = greet.locator(".jp-OutputArea")
    assert greet_out.locator(".nbagents-stream").count() == 0
    assert "✓ agent run" in greet_out.locator(".nbagents-run summary").inner_text()
    stdout = greet_out.locator('[data-mime-type="application/vnd.jupyter.stdout"]')
    assert stdout.inner_text().strip() == "printed by the agent program"
    greet_out.get_by_text("Hello, browser! This reply was streamed in small pieces.").wait_for()

    # An image and an audio player.
    image = cells.nth(PICTURE).locator(".jp-OutputArea img")
    assert image.first.get_attribute("src").startswith("data:image/png")
    assert cells.nth(SOUND).locator(".jp-OutputArea audio").count() == 1

    # The inspector: prompt and stop sequences; Edit -> change the code -> Run shows the new result.
    inspector.get_by_text("Prompt", exact=True).click()
    prompt = inspector.locator("pre", has_text="Multiply 6 by 7.")
    prompt.wait_for()
    assert len(prompt.inner_text()) > 200  # the whole prompt: instructions, tools, the task
    inspector.get_by_text("Prompt", exact=True).click()  # closed again: the prompt is long
    inspector.get_by_text("Stop sequences", exact=True).click()
    stops = inspector.locator("li code").all_inner_texts()
    assert stops and all(s.startswith(("'", '"')) for s in stops), stops
    code = inspector.locator(".nbagents-code textarea")
    assert code.input_value() == "result = 6 * 7"
    assert code.is_disabled()
    inspector.get_by_role("button", name="Edit", exact=True).click()
    code.fill("result = 6 * 9")
    inspector.get_by_role("button", name="Run", exact=True).click()
    inspector.get_by_text("54", exact=True).wait_for()

    # The status bar shows the kernel's engine, pushed through the nbagents comm.
    status.get_by_text("nbagents: fake: · model loaded").wait_for()
    _screenshot(page, "browser-lab.png", top_cell=GREET)

    # The notebook toolbar and the cell context menu offer the commands too.
    assert page.locator(".jp-NotebookPanel-toolbar .jp-nbagents-insert").is_visible()
    assert page.locator(".jp-NotebookPanel-toolbar .jp-nbagents-review").is_visible()
    greet.locator(".cm-nbagents-prompt").click(button="right")
    menu = page.locator(".lm-Menu-itemLabel")
    menu.get_by_text("nbagents: Run agent cell in review mode").wait_for()
    assert "nbagents: Open inspector of this cell's last run" in menu.all_inner_texts()
    page.keyboard.press("Escape")
    run_command(page, "notebook:enter-command-mode")

    # The palette lists the three commands; insert an agent cell from it and type the task.
    run_command(page, "apputils:activate-command-palette")
    page.locator(".lm-CommandPalette-input").fill("nbagents")
    labels = page.locator(".lm-CommandPalette-item .lm-CommandPalette-itemLabel")
    labels.first.wait_for()
    texts = labels.all_inner_texts()
    for label in ("Insert agent cell", "Run agent cell in review mode",
                  "Open inspector of this cell's last run"):
        assert any(label in t for t in texts), texts
    count = cells.count()
    page.locator(".lm-CommandPalette-item", has_text="Insert agent cell").click()
    page.wait_for_function("n => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n + 1",
                           arg=count)
    page.keyboard.type("Count the words in this sentence.")
    new = cells.nth(page.evaluate(ACTIVE_CELL))
    assert new.locator(".cm-nbagents-magic").inner_text() == "%%agent"
    assert new.locator(".cm-nbagents-prompt").inner_text() == "Count the words in this sentence."

    # Review mode adds --review to the magic line and runs the cell: the code waits in an
    # editable inspector.
    run_command(page, "nbagents:run-review")
    new.locator(".cm-nbagents-option").get_by_text("--review").wait_for()
    review = new.locator(".nbagents-inspector")
    review.wait_for()
    assert not review.locator(".nbagents-code textarea").is_disabled()
    assert "split()" in review.locator(".nbagents-code textarea").input_value()
    wait_kernel_idle(page)

    # The inspector of this cell's last run opens in a new cell below.
    run_command(page, "notebook:enter-command-mode")
    index = page.evaluate(ACTIVE_CELL)
    run_command(page, "nbagents:open-inspector")
    opened = cells.nth(index + 1)
    opened.locator(".nbagents-inspector").wait_for()
    assert opened.locator(".cm-line").first.inner_text().startswith("%agent inspect ")
    assert "Count the words" in opened.locator(".nbagents-inspector").inner_text()
    wait_kernel_idle(page)
    _screenshot(page, "browser-lab-commands.png", top_cell=index)

    # After a kernel restart nbagents is no longer loaded, and the status bar says so.
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    status.get_by_text("nbagents: not loaded").wait_for()


def test_missing_chromium_fails_in_ci_and_skips_locally(monkeypatch):
    import browser_helpers

    monkeypatch.setattr(browser_helpers, "find_chromium", lambda: None)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="Chromium is missing"):
        browser_helpers.require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="Chromium is missing"):
        browser_helpers.require_chromium()


def test_getting_started_tutorial_in_jupyterlab(tmp_path):
    """The getting-started tutorial, as `make lab` opens it, run top to bottom in the browser:
    its first cells on the embedded model (a tone, a rotated image, the inspector), the rest on
    its scripted replies. Screenshot: ``test-artifacts/browser-getting-started.png``."""
    import shutil
    from pathlib import Path

    chromium = require_chromium()
    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    root = tmp_path / "root"
    shutil.copytree(notebooks / "replies", root / "replies")
    shutil.copy(notebooks / "01-getting-started.ipynb", root / "getting-started.ipynb")
    ARTIFACTS.mkdir(exist_ok=True)
    with jupyter_lab(root, tmp_path / "lab") as lab, \
            chromium_page(chromium, height=1400) as (page, console):
        try:
            open_notebook(page, lab, "getting-started.ipynb")
            cells = page.locator(".jp-Notebook .jp-Cell")
            tone = cells.filter(has_text="Make a 440 Hz tone of one second.")
            rotated = cells.filter(has_text="Rotate the image `photo` by 90 degrees.")
            assert tone.locator(".cm-nbagents-magic").inner_text() == "%%agent"
            run_command(page, "notebook:run-all-cells")
            # The embedded model's first load and answers, on a busy 2-core machine.
            tone.locator(".jp-OutputArea audio").wait_for(state="attached", timeout=240_000)
            rotated.locator(".nbagents-inspector").wait_for(state="attached", timeout=120_000)
            # The last cell ran: the whole tutorial went through, the rest on scripted replies.
            last = cells.filter(has_text="%agent config")
            last.locator(".jp-OutputArea-output").first.wait_for(state="attached", timeout=120_000)
            wait_kernel_idle(page, 60_000)
            tone.scroll_into_view_if_needed()  # the notebook renders only the cells in view
            summary = tone.locator(".nbagents-run summary").text_content()
            assert "✓ agent run" in summary and "default" in summary, summary
            rotated.scroll_into_view_if_needed()
            inspector = rotated.locator(".nbagents-inspector")
            inspector.wait_for()
            assert rotated.locator(".jp-OutputArea img").first.get_attribute("src").startswith("data:image/png")
            inspector.get_by_text("Stop sequences", exact=True).click()
            assert inspector.locator("li code").count() >= 1
            assert inspector.locator(".nbagents-code textarea").input_value().startswith(
                "result = rotate_image(image=photo")
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert "Traceback" not in " ".join(errors.all_inner_texts())
            page.locator(".jp-nbagents-status").get_by_text("model loaded").wait_for()
            _screenshot(page, "browser-getting-started.png", top_cell=2)
        except BaseException:
            _screenshot(page, "browser-getting-started-failure.png")
            raise
        assert not console.errors, console.errors


# --- approvals: the Allow once / Always / Deny widget, answered in the browser while the cell runs ---

APPROVAL_SETUP = '''\
import os
os.environ["NBAGENTS_APPROVAL_HANDSHAKE_S"] = "30"
os.environ["NBAGENTS_APPROVAL_TIMEOUT_S"] = "120"
from pathlib import Path
from nbagents import Agent, ScriptedEngine, tool


@tool
def wipe(path: str) -> str:
    """Delete the file at `path`."""
    Path(path).unlink()
    return f"wiped {path}"


def program(path):
    return f"I will delete it.\\n```py\\nresult = wipe(path={path!r})\\n```"


asked = Agent(ScriptedEngine([program("once.txt"), program("denied.txt")]), tools=[wipe],
              add_default_tools=False, approvals={"wipe": "ask"})
always = Agent(ScriptedEngine([program("always.txt"), program("after.txt")]), tools=[wipe],
               add_default_tools=False, approvals={"wipe": "ask"})
'''

APPROVAL_CELLS = [
    APPROVAL_SETUP,
    'asked.run("Delete once.txt")',
    'always.run("Delete always.txt")',
    'always.run("Delete after.txt")',
    'asked.run("Delete denied.txt")',
]
ONCE, ALWAYS, AFTER, DENIED = 1, 2, 3, 4


def _approval_notebook(root):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in APPROVAL_CELLS]
    nbformat.write(nb, root / "approvals.ipynb")
    for name in ("once.txt", "denied.txt", "always.txt", "after.txt"):
        (root / name).write_text(name)


def test_approval_widget_in_jupyterlab(tmp_path):
    """An ``ask`` tool in real JupyterLab: the prompt shows the tool and its arguments while the
    cell waits; Allow once runs it, Always runs it and the next call without a prompt, Deny ends in
    the ApprovalError. Screenshots in ``tmp_path``: ``approval-widget.png``, ``approval-result.png``."""
    chromium = require_chromium()
    root = tmp_path / "root"
    root.mkdir()
    _approval_notebook(root)
    with jupyter_lab(root, tmp_path / "lab") as lab, \
            chromium_page(chromium, height=1200) as (page, console):
        try:
            _check_approvals(page, lab, root, tmp_path)
        except BaseException:
            page.screenshot(path=str(tmp_path / "approval-failure.png"))
            print(lab.log_text()[-5000:])
            print("\n".join(console.messages[-60:]))
            raise
        assert not console.errors, console.errors


def _answer(cell, path):
    """The prompt in ``cell``, once it shows the tool, its arguments and the three buttons."""
    prompt = cell.locator(".jp-OutputArea .widget-vbox")
    prompt.get_by_text("The agent wants to call wipe").wait_for(timeout=60_000)
    assert f"wipe(path='{path}')" in prompt.inner_text()
    names = [b.inner_text() for b in prompt.locator("button").all()]
    assert names == ["Allow once", "Always", "Deny"], names
    return prompt


def _check_approvals(page, lab, root, tmp_path):
    open_notebook(page, lab, "approvals.ipynb")
    cells = page.locator(".jp-Notebook .jp-Cell")
    start_command(page, "notebook:run-all-cells")  # not awaited: the cells wait for the clicks below

    # Allow once: the prompt shows while the cell is busy; the click reaches the kernel.
    prompt = _answer(cells.nth(ONCE), "once.txt")
    assert (root / "once.txt").exists()  # nothing ran before the click
    page.mouse.move(0, 0)
    page.screenshot(path=str(tmp_path / "approval-widget.png"))
    prompt.get_by_role("button", name="Allow once", exact=True).click()
    out = cells.nth(ONCE).locator(".jp-OutputArea")
    out.get_by_text("wiped once.txt").wait_for(timeout=60_000)
    assert "Allow once." in prompt.inner_text()
    assert prompt.locator("button:disabled").count() == 3
    assert not (root / "once.txt").exists()

    # Always: this call runs, and the next call of the same agent runs without a prompt.
    prompt = _answer(cells.nth(ALWAYS), "always.txt")
    prompt.get_by_role("button", name="Always", exact=True).click()
    cells.nth(ALWAYS).locator(".jp-OutputArea").get_by_text("wiped always.txt").wait_for(timeout=60_000)
    after = cells.nth(AFTER).locator(".jp-OutputArea")
    after.get_by_text("wiped after.txt").wait_for(timeout=60_000)
    assert after.locator(".widget-vbox").count() == 0
    assert not (root / "always.txt").exists() and not (root / "after.txt").exists()

    # Deny: the cell ends in the ApprovalError and the file is still there.
    prompt = _answer(cells.nth(DENIED), "denied.txt")
    prompt.get_by_role("button", name="Deny", exact=True).click()
    denied = cells.nth(DENIED).locator(".jp-OutputArea")
    denied.get_by_text("ApprovalError", exact=False).first.wait_for(timeout=60_000)
    wait_kernel_idle(page)
    text = denied.inner_text()
    assert "The call of the tool 'wipe' was denied; it did not run." in text, text
    assert (root / "denied.txt").read_text() == "denied.txt"
    cells.nth(ONCE).scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    page.screenshot(path=str(tmp_path / "approval-result.png"), full_page=True)
