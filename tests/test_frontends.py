"""Agent results in every frontend besides JupyterLab, driven through a real Chromium.

* **Notebook 7** (the ``notebook`` package): the getting-started tutorial's first cells, run in the
  browser on the embedded model: the model's output shows while it is written, the tone plays in an
  ``<audio>`` player, the rotated image shows, and the inspector's Edit -> Run runs changed code.
* **Saved and reopened**: a notebook executed headless (nbclient, widget state saved, as Lab saves
  it) opened in Notebook 7 shows its outputs without running a cell: signed (trusted, as a notebook
  the user saved is), the inspector widget rebuilt from the saved state; unsigned, its static HTML.
* **nbconvert HTML export** of that notebook, opened in Chromium with every request outside the
  page's folder refused (offline): with the widget manager from a local folder (``make widgets-js``)
  the inspector renders from the saved state; with nbconvert's defaults (the widget manager from a
  CDN) its place stays empty; with widget views left out, its static HTML shows.
* **Voila app view** (``notebooks/app.ipynb``): a task box, a Run button, the result and the
  inspector, served by ``voila`` (as ``make app`` runs it) and by Voila's server extension (as
  Binder offers it), and used in the browser.

The Notebook 7 server, the executed notebook and the browser are shared per module; every page
refuses requests beyond 127.0.0.1. Servers listen on ``127.0.0.1`` (free ports) and are stopped by
the fixtures; screenshots go to ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from browser_helpers import CHROMIUM_ARGS, free_port, require_chromium, wait_kernel_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent
# Where `make widgets-js` (part of `make setup`) puts @jupyter-widgets/html-manager and require.js.
WIDGETS_JS = Path(sys.prefix) / "share" / "jupyter" / "nbagents" / "widgets"


def _require(module: str, install: str) -> None:
    try:
        __import__(module)
    except ImportError:
        message = f"{module} is missing: pip install {install} (in the test extra)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


# --- servers ------------------------------------------------------------------------------------


def _state_env(state: Path, **extra: str) -> dict[str, str]:
    """Temporary Jupyter config, runtime, settings and IPython dirs; the venv's tools first on PATH."""
    dirs = {name: state / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    toast = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    toast.mkdir(parents=True, exist_ok=True)
    (toast / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Every cell in the page (by default only those in view are), so tests find them by text.
    tracker = dirs["settings"] / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),  # the notary's secret and trusted-notebook database
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "OMP_NUM_THREADS": "1",
        "NBAGENTS_HISTORY_DB": str(state / "history.sqlite"),
        "NBAGENTS_OUTPUT_DIR": str(state / "outputs"),
        **extra,
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@contextlib.contextmanager
def _server(cmd: list[str], *, cwd: Path, env: dict[str, str], url: str, log: Path,
            ready: str, timeout: float = 90) -> Iterator[str]:
    """Start ``cmd``; yield ``url`` once ``url + ready`` answers 200; terminate, wait, kill after."""
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{cmd[2]} exited ({process.returncode}):\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url + ready, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[2]} did not answer in {timeout} s:\n{log.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# --- fixtures -----------------------------------------------------------------------------------

SCRIPTED = [
    'I will greet you.\n```py\nprint("printed by the agent")\nresult = "Hello from a saved notebook!"\n```',
    "I will show the picture.\n```py\nresult = photo\n```",
    "I will play the sound.\n```py\nresult = sound\n```",
    "I will multiply.\n```py\nresult = 6 * 7\n```",
]

SAVED_SETUP = f'''\
import numpy as np
from PIL import Image, ImageDraw

from nbagents import AgentAudio, ScriptedEngine
from nbagents.magics import get_agent

get_agent().engine = ScriptedEngine({SCRIPTED!r}, model_id="scripted")
photo = Image.new("RGB", (160, 90), "navy")
ImageDraw.Draw(photo).polygon([(10, 80), (60, 10), (60, 80)], fill="gold")
sound = AgentAudio(np.sin(np.linspace(0, 440 * 2 * np.pi, 8000)).astype("float32"), samplerate=8000)
'''

SAVED_CELLS = [
    "%load_ext nbagents",
    SAVED_SETUP,
    "%%agent\nGreet me.",
    "%%agent\nShow the picture `photo`.",
    "%%agent\nPlay the sound `sound`.",
    "%%agent --inspect\nMultiply 6 by 7.",
]
GREET, PICTURE, SOUND, INSPECT = 2, 3, 4, 5


APP_REPLIES = [
    'I will greet the user.\n```py\nresult = "Hello from the app! " + str(6 * 7)\n```',
]


def _new_notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    return nb


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """The folder the Notebook 7 server serves: the getting-started tutorial's first cells (up to
    the inspector) and a notebook saved by nbclient with its widget state."""
    root = tmp_path_factory.mktemp("frontends")
    shutil.copytree(NOTEBOOKS / "replies", root / "replies")
    tutorial = nbformat.read(NOTEBOOKS / "01-getting-started.ipynb", as_version=4)
    last = next(i for i, c in enumerate(tutorial.cells) if c.source.startswith("%%agent --inspect"))
    tutorial.cells = tutorial.cells[: last + 1]
    nbformat.write(tutorial, root / "first-cells.ipynb")
    # The app, served by Voila's server extension as on Binder (voila.json beside it, as there).
    shutil.copy(NOTEBOOKS / "app.ipynb", root / "app.ipynb")
    shutil.copy(ROOT / "voila.json", root / "voila.json")
    (root / "app-replies.json").write_text(json.dumps(APP_REPLIES))
    return root


@pytest.fixture(scope="module")
def saved(root, tmp_path_factory) -> Path:
    """A notebook run headless with nbclient and saved with its widget state (what Lab saves)."""
    from nbclient import NotebookClient

    env_state = tmp_path_factory.mktemp("nbclient")
    nb = _new_notebook(SAVED_CELLS)
    env = {"IPYTHONDIR": str(env_state), "OMP_NUM_THREADS": "1",
           "NBAGENTS_HISTORY_DB": str(env_state / "history.sqlite"), "NBAGENTS_OUTPUT_DIR": str(env_state / "outputs")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": str(root)}}).execute()
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    path = root / "saved.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def notebook7_env(root, tmp_path_factory) -> dict[str, str]:
    return _state_env(tmp_path_factory.mktemp("notebook7"),
                      NBAGENTS_APP_ENGINE=f"fake:{root / 'app-replies.json'}")


@pytest.fixture(scope="module")
def notebook7(root, notebook7_env) -> Iterator[str]:
    """Notebook 7 serving ``root`` on a free port (no token, ``window.jupyterapp`` exposed)."""
    _require("notebook", '"notebook>=7.6,<7.7"')
    state = Path(notebook7_env["JUPYTER_CONFIG_DIR"]).parent
    port = free_port()
    cmd = [sys.executable, "-m", "notebook", "--no-browser", "--allow-root",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
           f"--ServerApp.root_dir={root}", "--JupyterNotebookApp.expose_app_in_browser=True",
           "--MappingKernelManager.cull_idle_timeout=0"]
    with _server(cmd, cwd=root, env=notebook7_env, url=f"http://127.0.0.1:{port}/",
                 log=state / "notebook.log", ready="api/status") as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


LOCAL = ("http://127.0.0.1:", "file:", "data:", "blob:")


@contextlib.contextmanager
def _new_page(browser) -> Iterator[object]:
    """A fresh page that records console errors (``page.errors``) and refuses every request
    beyond 127.0.0.1 (``page.refused``), as a machine without a network would."""
    context = browser.new_context(viewport={"width": 1300, "height": 1300})
    page = context.new_page()
    page.errors, page.refused = [], []

    def route(r):
        if r.request.url.startswith(LOCAL):
            r.continue_()
        else:
            page.refused.append(r.request.url)
            r.abort()

    def on_console(m):
        # A refused request logs "Failed to load resource"; page.refused says which.
        if m.type == "error" and not m.text.startswith("Failed to load resource: net::ERR_FAILED"):
            page.errors.append(f"console: {m.text}")

    context.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda e: page.errors.append(f"pageerror at {page.url}: {e}\n{(e.stack or '')[:3000]}"))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser):
    with _new_page(browser) as page:
        yield page


def expect(locator):
    from playwright.sync_api import expect

    return expect(locator)


def _shot(page, path: Path, element=None) -> None:
    if element is not None:
        element.scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    page.screenshot(path=str(path))


# Notebook 7.6.5 with JupyterLab 4.6 throws this on every notebook page, from its shortcuts settings
# plugin, with or without nbagents' extension (checked with it disabled): not ours to fix.
NOTEBOOK7_KNOWN = "pageerror at {url}notebooks/{name}: Cannot read properties of undefined (reading 'schema')"


def _notebook7_errors(page, url: str, name: str) -> list[str]:
    known = NOTEBOOK7_KNOWN.format(url=url, name=name)
    return [e for e in page.errors if not e.startswith(known)]


def _open_notebook7(page, url: str, name: str) -> None:
    page.goto(f"{url}notebooks/{name}", timeout=60_000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    wait_kernel_idle(page, 60_000)


# Records what the streaming display showed of the model's output while it was written.
WATCH_STREAM = """() => {
    window.nbagentsStreamed = [];
    new MutationObserver(() => {
        for (const pre of document.querySelectorAll('.nbagents-stream pre')) {
            window.nbagentsStreamed.push(pre.textContent);
        }
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


# --- Notebook 7 ---------------------------------------------------------------------------------


def test_getting_started_first_cells_in_notebook7(notebook7, page, tmp_path):
    """The tutorial's first cells on the embedded model, run in Notebook 7's browser UI."""
    _open_notebook7(page, notebook7, "first-cells.ipynb")
    assert page.locator("#jp-top-panel, .jp-NotebookKernelStatus, #jp-NotebookKernelStatus").count() >= 1
    cells = page.locator(".jp-Notebook .jp-Cell")
    tone = cells.filter(has_text="Make a 440 Hz tone of one second.")
    rotated = cells.filter(has_text="Rotate the image `photo` by 90 degrees.")
    page.evaluate(WATCH_STREAM)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    try:
        # The embedded model's first load and answers, on a busy 2-core machine.
        tone.locator(".jp-OutputArea audio").wait_for(state="attached", timeout=240_000)
        inspector = rotated.locator(".nbagents-inspector")
        inspector.wait_for(state="attached", timeout=180_000)
        wait_kernel_idle(page, 60_000)

        # The model's output showed in the cell while it was written, then settled into the summary
        # line. (The embedded model writes these short programs in well under a second, and the
        # display updates every 0.1 s, so how many pieces the page sees varies; test_browser.py
        # checks piece-by-piece streaming with a slowed scripted engine.)
        streamed = [t for t in page.evaluate("() => window.nbagentsStreamed") if t]
        assert streamed and all(t.startswith("`") or "result" in t for t in streamed), streamed
        tone.scroll_into_view_if_needed()
        assert tone.locator(".nbagents-stream").count() == 0
        summary = tone.locator(".nbagents-run summary").text_content()
        assert "✓ agent run" in summary and "default" in summary, summary
        assert tone.locator(".jp-OutputArea audio source").first.get_attribute("src").startswith("data:audio/wav")

        # The rotated image (a PNG, portrait now) and the inspector.
        rotated.scroll_into_view_if_needed()
        image = rotated.locator(".jp-OutputArea-output img").first
        assert image.get_attribute("src").startswith("data:image/png")
        box = page.evaluate("img => [img.naturalWidth, img.naturalHeight]", image.element_handle())
        assert box == [90, 160], box
        inspector.get_by_text("Stop sequences", exact=True).click()
        assert inspector.locator("li code").count() >= 1
        code = inspector.locator(".nbagents-code textarea")
        original = code.input_value()
        assert original.startswith("result = rotate_image(image=photo") and "90" in original, original
        assert code.is_disabled()

        # Edit -> Run: the edited program (rotate by 180, no model) shows its image in the inspector.
        inspector.get_by_role("button", name="Edit", exact=True).click()
        expect(code).to_be_enabled()  # the kernel's answer to the toggle
        code.fill(original.replace("90", "180"))
        inspector.get_by_role("button", name="Run", exact=True).click()
        inspector.get_by_text("✓ run", exact=False).wait_for(timeout=60_000)
        edited = inspector.locator(".widget-output img").first
        edited.wait_for()
        box = page.evaluate("img => [img.naturalWidth, img.naturalHeight]", edited.element_handle())
        assert box == [160, 90], box
        _shot(page, tmp_path / "notebook7-first-cells.png", inspector)
        errors = page.locator("[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
        assert "Traceback" not in " ".join(errors)
    except BaseException:
        _shot(page, tmp_path / "notebook7-failure.png")
        raise
    assert not _notebook7_errors(page, notebook7, "first-cells.ipynb"), page.errors
    assert not page.refused, page.refused


def _check_saved_outputs(cells) -> None:
    out = cells.nth(GREET).locator(".jp-OutputArea")
    out.get_by_text("Hello from a saved notebook!", exact=True).wait_for()
    assert "printed by the agent" in out.locator("[data-mime-type='application/vnd.jupyter.stdout']").inner_text()
    assert "✓ agent run" in out.locator(".nbagents-run summary").inner_text()
    assert cells.nth(PICTURE).locator(".jp-OutputArea img").first.get_attribute("src").startswith("data:image/png")
    assert cells.nth(SOUND).locator(".jp-OutputArea audio").count() == 1


def test_notebook_saved_with_widget_state_reopens_in_notebook7(notebook7, notebook7_env, saved, browser, tmp_path):
    """Outputs and the inspector from the file alone: no cell is run in the browser. A notebook
    the user saved (Lab signs it with the user's key, so it is trusted) shows the inspector widget
    rebuilt from the saved widget state; one that is not trusted shows its static HTML instead."""
    nb = nbformat.read(saved, as_version=4)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    view = next(o for o in nb.cells[INSPECT].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
    assert view["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] in state
    assert "text/html" in view["data"]  # the static fallback travels with the widget view
    counts = [f"[{c.get('execution_count')}]:" for c in nb.cells]

    # Trust goes by the notebook's content (its signature), so the untrusted copy differs a little.
    untrusted = saved.with_name("untrusted.ipynb")
    nb.metadata["title"] = "not signed"
    nbformat.write(nb, untrusted)
    trusted = saved.with_name("trusted.ipynb")
    shutil.copy(saved, trusted)
    done = subprocess.run([str(BIN / "jupyter"), "trust", str(trusted)], env=notebook7_env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Signing notebook" in done.stdout, done.stdout + done.stderr
    with _new_page(browser) as page:
        try:
            _open_notebook7(page, notebook7, untrusted.name)
            cells = page.locator(".jp-Notebook .jp-Cell")
            _check_saved_outputs(cells)
            static = cells.nth(INSPECT).locator("div.nbagents-inspector")
            static.wait_for()
            assert "result = 6 * 7" in static.inner_text() and "Result (int): 42" in static.inner_text()
            assert cells.nth(INSPECT).locator(".widget-vbox").count() == 0
            _shot(page, tmp_path / "notebook7-untrusted.png", static)
        except BaseException:
            _shot(page, tmp_path / "notebook7-untrusted-failure.png")
            raise
        assert not _notebook7_errors(page, notebook7, untrusted.name), page.errors
        assert not page.refused, page.refused

    with _new_page(browser) as page:
        try:
            _open_notebook7(page, notebook7, trusted.name)
            cells = page.locator(".jp-Notebook .jp-Cell")
            _check_saved_outputs(cells)
            # Trusted, the player keeps its sound (an untrusted page's sanitizer drops the data URL).
            assert cells.nth(SOUND).locator("audio source").first.get_attribute("src").startswith("data:audio/wav")
            inspector = cells.nth(INSPECT).locator(".widget-vbox.nbagents-inspector")
            inspector.wait_for(timeout=30_000)
            assert inspector.locator(".nbagents-code textarea").input_value() == "result = 6 * 7"
            assert "Multiply 6 by 7." in inspector.inner_text()
            assert inspector.locator(".widget-output").get_by_text("42", exact=True).count() == 1
            assert "Stop sequences" in inspector.inner_text()
            # ipywidgets marks views of models the kernel does not have (yet) as disconnected.
            assert page.locator(".jupyter-widgets-disconnected").count() >= 1
            # Nothing ran: every cell keeps the execution count the file has.
            prompts = cells.locator(".jp-InputArea-prompt").all_inner_texts()
            assert [p.strip() for p in prompts] == counts, prompts
            _shot(page, tmp_path / "notebook7-saved.png", inspector)
        except BaseException:
            _shot(page, tmp_path / "notebook7-saved-failure.png")
            raise
        assert not _notebook7_errors(page, notebook7, trusted.name), page.errors
        assert not page.refused, page.refused


# --- nbconvert HTML -----------------------------------------------------------------------------


def _nbconvert(saved: Path, out: Path, *options: str) -> Path:
    done = subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--output-dir", str(out.parent),
                           "--output", out.stem, *options, str(saved)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _offline(page, folder: Path) -> list[str]:
    """Refuse every request outside ``folder`` (file:// only); return the list of refused URLs."""
    refused: list[str] = []
    prefix = folder.as_uri()

    def route(r):
        if r.request.url.startswith(prefix) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return refused


def test_html_export_renders_the_saved_inspector_offline(saved, page, tmp_path):
    if not (WIDGETS_JS / "embed-amd.js").is_file():
        message = f"the widget manager for HTML pages is missing in {WIDGETS_JS}: make widgets-js"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    export = tmp_path / "export"
    shutil.copytree(WIDGETS_JS, export / "widgets")
    html = _nbconvert(saved, export / "saved.html", "--HTMLExporter.widget_renderer_url=widgets/embed-amd.js",
                      "--HTMLExporter.require_js_url=widgets/require.js")
    text = html.read_text()
    assert "application/vnd.jupyter.widget-state+json" in text and "unpkg.com" not in text
    refused = _offline(page, export)
    page.goto(html.as_uri())
    try:
        inspector = page.locator(".widget-vbox.nbagents-inspector")
        inspector.wait_for(timeout=30_000)
        page.get_by_text("Hello from a saved notebook!", exact=True).wait_for()
        assert page.locator("img[src^='data:image/png']").count() >= 1
        assert page.locator("audio").count() == 1
        assert inspector.locator(".nbagents-code textarea").input_value() == "result = 6 * 7"
        assert inspector.locator(".widget-output").get_by_text("42", exact=True).count() == 1
        assert "Multiply 6 by 7." in inspector.inner_text()
        _shot(page, tmp_path / "html-offline.png", inspector)
    except BaseException:
        _shot(page, tmp_path / "html-failure.png")
        raise
    # MathJax and jQuery come from CDNs in nbconvert's template; the widgets need neither.
    assert all("cdnjs.cloudflare.com" in u for u in refused), refused


# Without the widget-view type nbconvert picks each widget output's next type: the inspector's
# static HTML (the same sections, no buttons), so the page needs no JavaScript at all.
STATIC_PRIORITY = ["text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/plain"]


def test_html_export_offline_with_nbconverts_defaults_and_static(saved, page, tmp_path):
    """nbconvert's default page loads the widget manager from a CDN: offline the inspector's place
    stays empty. The static export (widget views left out) shows the inspector's HTML instead."""
    export = tmp_path / "export"
    export.mkdir()
    default = _nbconvert(saved, export / "default.html")
    assert "unpkg.com/@jupyter-widgets/html-manager" in default.read_text()
    refused = _offline(page, export)
    page.goto(default.as_uri())
    page.get_by_text("Hello from a saved notebook!", exact=True).wait_for()
    assert page.locator(".nbagents-inspector").count() == 0
    views = page.locator(".jupyter-widgets.jp-OutputArea-output")
    assert views.count() == 1 and views.first.inner_text().strip() == ""
    assert any("unpkg.com" in u for u in refused), refused

    static = _nbconvert(saved, export / "static.html",
                        f"--NbConvertBase.display_data_priority={json.dumps(STATIC_PRIORITY)}")
    assert "widget-view+json\">" not in static.read_text()
    page.goto(static.as_uri())
    inspector = page.locator("div.nbagents-inspector")
    inspector.wait_for()
    text = inspector.inner_text()
    assert "result = 6 * 7" in text and "Multiply 6 by 7." in text and "Result (int): 42" in text, text
    inspector.get_by_text("Stop sequences", exact=True).click()
    assert inspector.locator("li code").count() >= 1
    assert page.locator("audio").count() == 1 and page.locator("img[src^='data:image/png']").count() >= 1
    _shot(page, tmp_path / "html-static.png", inspector)


# --- Voila --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def voila(tmp_path_factory) -> Iterator[str]:
    """``voila notebooks/app.ipynb`` on a free port, its agent on scripted replies."""
    _require("voila", '"voila>=0.5,<0.6"')
    state = tmp_path_factory.mktemp("voila")
    replies = state / "replies.json"
    replies.write_text(json.dumps(APP_REPLIES))
    port = free_port()
    cmd = [sys.executable, "-m", "voila", "notebooks/app.ipynb", "--no-browser",
           "--Voila.ip=127.0.0.1", f"--port={port}", "--Voila.port_retries=0"]
    env = _state_env(state, NBAGENTS_APP_ENGINE=f"fake:{replies}")
    # From the repository root, as `make app` runs it: voila.json there leaves out the JupyterLab-only
    # extensions (the nbagents palette commands and status bar, Notebook 7's Lab menu).
    with _server(cmd, cwd=ROOT, env=env, url=f"http://127.0.0.1:{port}/", log=state / "voila.log",
                 ready="voila/static/voila.js") as url:
        yield url


def test_app_view_in_voila(voila, page, tmp_path):
    """``voila notebooks/app.ipynb``, as ``make app`` runs it."""
    _check_app(page, voila, tmp_path / "voila-app.png")


def test_app_view_through_voilas_server_extension(notebook7, page, tmp_path):
    """The app as Binder offers it: ``/voila/render/...`` on the notebook server."""
    _require("voila", '"voila>=0.5,<0.6"')
    _check_app(page, f"{notebook7}voila/render/app.ipynb", tmp_path / "voila-extension-app.png")


def _check_app(page, url: str, screenshot: Path) -> None:
    page.goto(url, timeout=120_000)
    try:
        task = page.locator(".nbagents-app-task textarea")
        task.wait_for(timeout=120_000)
        page.get_by_text("nbagents app").first.wait_for()
        assert "NBAGENTS_APP_ENGINE" in page.content()  # the markdown shows ...
        assert "run_button.on_click" not in page.inner_text("body")  # ... the code does not
        task.fill("Greet the user.")
        page.locator(".nbagents-app-run").click()
        result = page.locator(".nbagents-app-result")
        result.get_by_text("Hello from the app! 42").wait_for(timeout=60_000)
        assert "✓ run" in page.locator(".nbagents-app-status").inner_text()
        inspector = page.locator(".nbagents-app-inspector .nbagents-inspector")
        inspector.wait_for()
        assert "Greet the user." in inspector.inner_text()
        code = inspector.locator(".nbagents-code textarea")
        assert code.input_value().startswith('result = "Hello from the app! "')
        # The inspector works here too: Edit -> Run the changed code.
        inspector.get_by_role("button", name="Edit", exact=True).click()
        expect(code).to_be_enabled()
        code.fill("result = 6 * 9")
        inspector.get_by_role("button", name="Run", exact=True).click()
        inspector.get_by_text("54", exact=True).wait_for(timeout=30_000)
        _shot(page, screenshot)
        # An empty task says so, and runs nothing.
        task.fill("")
        page.locator(".nbagents-app-run").click()
        page.locator(".nbagents-app-status").get_by_text("The task is empty").wait_for(timeout=30_000)
    except BaseException:
        _shot(page, screenshot.with_name("app-failure.png"))
        raise
    assert not page.errors, page.errors
    # Voila's page asks CDNs for Font Awesome (icons; the app has none) and, served by the server
    # extension, MathJax (math in markdown; none here); nothing else goes out.
    cdns = ("https://cdn.jsdelivr.net/npm/@fortawesome/", "https://cdnjs.cloudflare.com/ajax/libs/mathjax/")
    assert all(u.startswith(cdns) for u in page.refused), page.refused
