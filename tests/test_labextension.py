"""The JupyterLab extension's packaging, and its kernel side (nbagents.labcomm)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nbagents
from nbagents import labcomm

ROOT = Path(__file__).resolve().parent.parent
LABEXT = "nbagents-labext"
SHARE = f"share/jupyter/labextensions/{LABEXT}"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _env() -> dict[str, str]:
    # The venv's bin first, as if it were activated: npm scripts call jupyter-builder from there.
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


# --- packaging ----------------------------------------------------------------------------------


def test_versions_agree():
    package = json.loads((ROOT / "labextension" / "package.json").read_text())
    assert package["name"] == LABEXT
    assert package["version"] == nbagents.__version__
    assert package["jupyterlab"]["outputDir"] == "../nbagents/labextension"
    assert nbagents._jupyter_labextension_paths() == [{"src": "labextension", "dest": LABEXT}]


def test_lockfile_is_complete():
    """`npm ci` needs every optional platform binding in the lock (see the rspack pin)."""
    lock = json.loads((ROOT / "labextension" / "package-lock.json").read_text())
    packages = lock["packages"]
    assert packages[""]["name"] == LABEXT
    core = packages["node_modules/@rspack/core"]
    bindings = [k for k in packages if k.startswith("node_modules/@rspack/binding-")]
    assert len(bindings) >= 10, bindings
    for name in core.get("optionalDependencies", {}):
        assert f"node_modules/{name}" in packages, f"{name} is missing from package-lock.json"


def test_labextension_installed_and_enabled():
    out = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"],
                         capture_output=True, text=True, env=_env(), timeout=60)
    listing = ANSI.sub("", out.stdout + out.stderr)
    line = next((x for x in listing.splitlines() if LABEXT in x), None)
    assert line is not None, f"{LABEXT} is not installed; run `make setup`:\n{listing}"
    assert re.search(rf"{LABEXT} v{re.escape(nbagents.__version__)} enabled\s+OK", line), line


def test_wheel_contains_the_built_extension(tmp_path):
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
           "--disable-pip-version-check", "-q", "-w", str(tmp_path), str(ROOT)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = tmp_path.glob("nbagents-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        data = f"nbagents-{nbagents.__version__}.data/data/{SHARE}"
        files = sorted(n[len(data) + 1:] for n in names if n.startswith(data + "/"))
        assert "package.json" in files and "install.json" in files, files
        assert "static/style.js" in files, files
        package = json.loads(z.read(f"{data}/package.json"))
        install = json.loads(z.read(f"{data}/install.json"))
        entry = package["jupyterlab"]["_build"]["load"]
        assert entry.startswith("static/remoteEntry.") and entry in files, (entry, files)
        bundle = "".join(z.read(f"{data}/{f}").decode() for f in files if f.endswith(".js"))
    assert package["name"] == LABEXT and package["version"] == nbagents.__version__
    assert install["packageName"] == "nbagents"
    for command in ("nbagents:insert-agent-cell", "nbagents:run-review", "nbagents:open-inspector"):
        assert command in bundle
    assert "cm-nbagents-magic" in bundle and "cm-nbagents-prompt" in bundle
    # The JupyterLab and CodeMirror packages are shared with the host, not bundled.
    assert len(bundle) < 200_000


# --- the kernel side: nbagents.labcomm ----------------------------------------------------------


class FakeComm:
    def __init__(self):
        self.sent: list[dict] = []
        self.closed = False
        self._on_msg = self._on_close = None

    def on_msg(self, callback):
        self._on_msg = callback

    def on_close(self, callback):
        self._on_close = callback

    def send(self, data):
        self.sent.append(data)

    def close(self):
        self.closed = True
        if self._on_close:
            self._on_close({})

    def receive(self, data):
        self._on_msg({"content": {"data": data}})


class FakeCommManager:
    def __init__(self):
        self.targets: dict = {}

    def register_target(self, name, f):
        self.targets[name] = f

    def unregister_target(self, name, f):
        return self.targets.pop(name)

    def open(self, data):
        comm = FakeComm()
        self.targets[labcomm.COMM_TARGET](comm, {"content": {"data": data}})
        return comm


class FakeShell:
    def __init__(self):
        self.kernel = type("Kernel", (), {"comm_manager": FakeCommManager()})()


@pytest.fixture
def shell():
    shell = FakeShell()
    yield shell
    labcomm.unregister_comm(shell)


def test_no_kernel_is_a_no_op():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    assert labcomm.register_comm(ip) is False
    assert labcomm.notify_status() == 0
    labcomm.unregister_comm(ip)


def test_status_request_and_push(shell):
    state = {"engine": "fake:", "model_id": "scripted", "loaded": True}
    assert labcomm.register_comm(shell, status=lambda: dict(state)) is True
    comm = shell.kernel.comm_manager.open({"request": "status"})
    assert comm.sent == [{"engine": "fake:", "model_id": "scripted", "loaded": True}]
    comm.receive({"request": "status"})
    comm.receive({"request": "something else"})
    assert len(comm.sent) == 2
    state.update(engine="local:tiny", model_id="tiny", loaded=False)
    assert labcomm.notify_status() == 1
    assert comm.sent[-1] == {"engine": "local:tiny", "model_id": "tiny", "loaded": False}
    comm.close()
    assert labcomm.notify_status() == 0


def test_default_status_and_failing_provider(shell, monkeypatch):
    from nbagents.engines import registry

    monkeypatch.setattr(registry, "loaded_engines", lambda: [])
    labcomm.register_comm(shell)
    comm = shell.kernel.comm_manager.open({"request": "status"})
    assert comm.sent[-1] == {"engine": "default", "model_id": "", "loaded": False}
    embedded = type("Embedded", (), {"spec": "default", "model_id": "SmolLM2", "loaded": True})()
    monkeypatch.setattr(registry, "loaded_engines", lambda: [embedded])
    labcomm.notify_status()
    assert comm.sent[-1] == {"engine": "default", "model_id": "SmolLM2", "loaded": True}

    def broken():
        raise RuntimeError("no engine yet")

    labcomm.set_status_provider(broken)
    assert labcomm.notify_status() == 1
    assert comm.sent[-1]["engine"] == "?" and "no engine yet" in comm.sent[-1]["error"]


def test_unregister_closes_comms(shell):
    labcomm.register_comm(shell, status=lambda: {"engine": "fake:"})
    comm = shell.kernel.comm_manager.open({"request": "status"})
    labcomm.unregister_comm(shell)
    assert comm.closed
    assert labcomm.COMM_TARGET not in shell.kernel.comm_manager.targets
    assert labcomm.get_status()["engine"] == "default"
