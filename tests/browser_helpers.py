"""A real JupyterLab in a real Chromium, for the browser tests.

:func:`jupyter_lab` starts JupyterLab on ``127.0.0.1`` (a free port, no token, temporary config,
runtime, settings and workspace dirs, the news toast off, ``window.jupyterapp`` exposed) and stops
it afterwards (terminate, wait, kill). :func:`chromium_page` opens a headless page in Debian's
Chromium (``/usr/bin/chromium``, no Playwright browser download) that records console errors.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def find_chromium() -> str | None:
    """The system Chromium, or None."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def require_chromium() -> str:
    """The Chromium path. Without one: skip locally, fail in CI (``CI`` set)."""
    path = find_chromium()
    if path is None:
        message = ("Chromium is missing: apt-get install -y chromium (make test installs it when "
                   "running as root)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        message = "the playwright Python package is missing: pip install playwright"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    url: str
    root: Path
    process: subprocess.Popen
    log: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _wait_ready(lab: Lab, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited ({lab.process.returncode}):\n{lab.log_text()}")
        try:
            with urllib.request.urlopen(lab.url + "api/status", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"JupyterLab did not answer in {timeout} s:\n{lab.log_text()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def jupyter_lab(root: Path, state: Path, *, extra_env: dict[str, str] | None = None,
                timeout: float = 60) -> Iterator[Lab]:
    """Run JupyterLab serving ``root``; its config and state live under ``state``."""
    dirs = {name: state / name for name in ("config", "data", "runtime", "settings", "workspaces",
                                            "ipython")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        **(extra_env or {}),
    }
    # The venv's bin first: the kernel and `jupyter` resolve to this interpreter's environment.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    port = free_port()
    log = state / "jupyterlab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--MappingKernelManager.cull_idle_timeout=0",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    lab = Lab(url=f"http://127.0.0.1:{port}/", root=root, process=process, log=log, env=env)
    try:
        _wait_ready(lab, timeout)
        yield lab
    finally:
        _stop(process)


@dataclass
class ConsoleLog:
    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@contextlib.contextmanager
def chromium_page(executable: str, *, width: int = 1400, height: int = 1000
                  ) -> Iterator[tuple[Any, ConsoleLog]]:
    """A headless Chromium page, and the console errors and page errors it logs."""
    from playwright.sync_api import sync_playwright

    console = ConsoleLog()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})

            def on_console(msg: Any) -> None:
                text = f"{msg.type}: {msg.text}"
                console.messages.append(text)
                if msg.type == "error":
                    console.errors.append(text)

            page.on("console", on_console)
            page.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
            yield page, console
        finally:
            browser.close()


def open_notebook(page: Any, lab: Lab, name: str, timeout: float = 30_000) -> None:
    """Open ``name`` in the lab and wait until the app started and the kernel is idle."""
    page.goto(f"{lab.url}lab/tree/{name}", timeout=timeout)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout)
    page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout)
    wait_kernel_idle(page, timeout)


def wait_kernel_idle(page: Any, timeout: float = 30_000) -> None:
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const kernel = panel && panel.sessionContext && panel.sessionContext.session
                && panel.sessionContext.session.kernel;
            return !!kernel && kernel.status === 'idle';
        }""",
        timeout=timeout,
    )


def run_command(page: Any, command: str, args: dict | None = None) -> Any:
    return page.evaluate(
        "([id, args]) => window.jupyterapp.commands.execute(id, args)", [command, args or {}])


def start_command(page: Any, command: str, args: dict | None = None) -> None:
    """Start a command without waiting for it: ``notebook:run-all-cells`` settles only when the
    last cell is done, so awaiting it would block a test that must click while a cell runs."""
    page.evaluate("([id, args]) => { window.jupyterapp.commands.execute(id, args); }", [command, args or {}])
