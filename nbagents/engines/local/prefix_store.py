"""Prompt prefixes kept on disk between kernels: the key/value cache of a prompt's fixed part.

Every task's prompt starts with the same instructions, tool list and examples (about 900 tokens for
the default toolbox); running them costs a new kernel seconds on a laptop CPU, for a cache the
last kernel had already computed. :func:`load` and :func:`save` keep it as a safetensors file (no
pickle: only tensors, and the token ids in the metadata, checked on load) in a folder the
engine names (the embedded engine: ``<cache root>/prefixes``), named by a hash of everything the cache depends on: the model's folder
and weights' identity, its dtype, transformers' and torch's versions, and the token ids. A
changed toolbox, model or library gives another name, so a stale file is never read; the oldest
files beyond :data:`MAX_FILES` are removed.

Only plain dynamic caches (every layer's keys and values, no sliding window dropped) are stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cache import is_plain_dynamic

__all__ = ["prefix_key", "load", "save", "MAX_FILES"]

log = logging.getLogger("nbagents")

#: The most prefix files kept (the newest); each is a few tens of MB for a small model.
MAX_FILES = 8
_FORMAT = "1"


def _model_identity(model: Any) -> str:
    """The model's folder with its weight files' sizes and times, or its name when it has no folder."""
    config = getattr(model, "config", None)
    source = str(getattr(config, "_name_or_path", "") or "")
    parts = [source, type(model).__name__, str(getattr(model, "dtype", ""))]
    folder = Path(source)
    if folder.is_dir():
        for f in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            st = f.stat()
            parts.append(f"{f.name}:{st.st_size}:{int(st.st_mtime)}")
    else:
        parts.append("no-folder")
    return "|".join(parts)


def prefix_key(model: Any, ids: Sequence[int]) -> str | None:
    """The file name stem for ``model``'s cache of ``ids``; ``None`` for a model without a local
    folder (nothing to tie the file to)."""
    import torch
    import transformers

    identity = _model_identity(model)
    if identity.endswith("no-folder"):
        return None
    h = hashlib.sha256()
    for part in (_FORMAT, identity, transformers.__version__, torch.__version__, json.dumps(list(map(int, ids)))):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def load(folder: Path, model: Any, ids: Sequence[int]) -> Any | None:
    """The cache of ``ids`` for ``model`` stored in ``folder`` (a ``DynamicCache``), or ``None``."""
    key = prefix_key(model, ids)
    if key is None:
        return None
    path = Path(folder) / f"{key}.safetensors"
    if not path.is_file():
        return None
    try:
        from safetensors import safe_open
        from transformers.cache_utils import DynamicCache

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if json.loads(meta.get("ids", "[]")) != [int(t) for t in ids]:
                return None
            layers = int(meta["layers"])
            cache = DynamicCache()
            for i in range(layers):
                cache.update(f.get_tensor(f"k{i}").to(model.dtype), f.get_tensor(f"v{i}").to(model.dtype), i)
        os.utime(path)  # recently used: kept longest
        return cache
    except Exception:  # a damaged or foreign file: run the prompt instead
        log.info("Could not read the stored prompt prefix %s", path, exc_info=True)
        return None


def save(folder: Path, model: Any, ids: Sequence[int], cache: Any) -> Path | None:
    """Store ``cache`` (the cache of exactly ``ids``) for ``model`` in ``folder``; the path, or
    ``None`` when it cannot be stored (not a plain dynamic cache, no local model folder, a write error)."""
    key = prefix_key(model, ids)
    if key is None or not is_plain_dynamic(cache) or int(cache.get_seq_length()) != len(ids):
        return None
    folder = Path(folder)
    path = folder / f"{key}.safetensors"
    try:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for i, layer in enumerate(cache.layers):
            tensors[f"k{i}"] = layer.keys.contiguous()
            tensors[f"v{i}"] = layer.values.contiguous()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        save_file(tensors, str(tmp), metadata={"ids": json.dumps([int(t) for t in ids]),
                                               "layers": str(len(cache.layers))})
        os.replace(tmp, path)
    except Exception:  # a full disk or a read-only cache: the next kernel runs the prompt again
        log.info("Could not store the prompt prefix in %s", folder, exc_info=True)
        return None
    _prune(folder)
    return path


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.safetensors"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[MAX_FILES:]:
        with contextlib.suppress(OSError):
            old.unlink()
