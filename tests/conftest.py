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


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Outputs and history of each test go to its own temp dir (the model cache is shared)."""
    monkeypatch.setenv("NBAGENTS_OUTPUT_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("NBAGENTS_HISTORY_DB", str(tmp_path / "history.sqlite"))
    yield
