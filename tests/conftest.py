"""Shared test settings: offline, one torch thread, and every file nbagents writes in a temp dir."""

from __future__ import annotations

import os

import pytest

# Never reach a hub; keep torch from oversubscribing the 2 cores.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Kernels the tests start do not warm their agent up in the background unless a test asks
# (tests/test_warm_up.py): most switch to a scripted engine right after %load_ext.
os.environ.setdefault("NBAGENTS_WARM_UP", "0")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Outputs and history of each test go to its own temp dir (the model cache is shared)."""
    monkeypatch.setenv("NBAGENTS_OUTPUT_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("NBAGENTS_HISTORY_DB", str(tmp_path / "history.sqlite"))
    yield


#: Credentials and proxies a developer's shell may set; tests against loopback servers unset them.
AMBIENT_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_VERSION",
               "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_RESOURCE_NAME",
               "AZURE_OPENAI_API_VERSION", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy",
               "https_proxy", "all_proxy")


@pytest.fixture
def no_ambient_credentials(monkeypatch):
    """No developer's real token may reach a fake server, and no proxy may sit in between (use it
    with ``pytestmark = pytest.mark.usefixtures("no_ambient_credentials")``)."""
    for name in AMBIENT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
