"""``add_tool``: download the weights a model-backed tool needs, then hand back the ready tool.

``add_tool("image_captioner")`` (or ``%agent tools add image_captioner``) lists the checkpoint's
repo on the Hub (``$HF_ENDPOINT`` or ``endpoint=``, read when called), picks the files the tool
loads (one weights format: safetensors over pickles, no TensorFlow/Flax/ONNX copies, no fp16
variants, and for a diffusers pipeline its component folders only), checks the disk has room for
them, and downloads them with ``huggingface_hub.snapshot_download`` and its progress bars (a
notebook shows them as widgets). The tool is then usable offline and joins ``toolbox`` if one is
given.

Nothing half-written is kept: the files go to a staging cache inside the cache folder and are
moved into place (same disk: renames) only once every file of every checkpoint has arrived; the
repo's ref (``refs/main``), which is what makes the cached snapshot visible, is written last. Any
failure removes the staging folder and raises a :class:`~nbagents.errors.DownloadError` that says
what happened with names and numbers: the endpoint and repo, the URL and status that failed, the
bytes needed and free and the folder.
"""

from __future__ import annotations

import errno
import glob
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..deps import require
from ..errors import DownloadError, MissingDependencyError, ToolError, closest_names
from .base import Tool
from .catalogue import is_folder, missing_packages
from .pipeline import checkpoint_cached
from .tasks import TASKS, task_class

__all__ = ["add_tool", "acquire", "Acquisition", "select_files", "human_size"]

logger = logging.getLogger(__name__)

# Weights in formats the tools never load, and folders of such copies.
_FOREIGN_SUFFIXES = (".h5", ".msgpack", ".onnx", ".onnx_data", ".ot", ".tflite", ".mlmodel", ".ckpt",
                     ".gguf", ".nemo", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".mp4", ".wav", ".mp3")
_FOREIGN_FOLDERS = {"onnx", "openvino", "coreml", "flax", "tf", "tensorflow", "tflite", "mlx", ".git"}
_VARIANTS = (".fp16.", ".bf16.", ".non_ema.", ".ema.", ".int8.", ".fp32.")
_PICKLES = (".bin", ".pt", ".pth", ".bin.index.json")
_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth")


def human_size(n: float) -> str:
    """``1234567`` -> ``'1.2 MB'`` (decimal units, as disks and the Hub count)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover - the loop returns


def select_files(paths: Iterable[str]) -> list[str]:
    """The files of a repo that a tool loads, from all of the repo's paths.

    Drops other frameworks' weights (TensorFlow, Flax, ONNX, Core ML, GGUF, original ``.ckpt``),
    precision variants (``*.fp16.safetensors``...), pickled weights where a folder also holds
    safetensors, media, and, in a diffusers pipeline (``model_index.json`` at the top), the
    single-file weights at the top that ``from_pretrained`` never reads.
    """
    paths = sorted(set(paths))
    kept = []
    for path in paths:
        p = PurePosixPath(path)
        name = p.name.lower()
        if set(p.parts[:-1]) & _FOREIGN_FOLDERS or name.endswith(_FOREIGN_SUFFIXES):
            continue
        if name.endswith(_WEIGHTS) and any(v in name for v in _VARIANTS):
            continue
        kept.append(path)
    pipeline = "model_index.json" in kept
    folders_with_safetensors = {str(PurePosixPath(p).parent) for p in kept if p.endswith(".safetensors")}
    chosen = []
    for path in kept:
        p = PurePosixPath(path)
        if str(p.parent) in folders_with_safetensors and p.name.lower().endswith(_PICKLES):
            continue
        if pipeline and str(p.parent) == "." and p.name.lower().endswith(_WEIGHTS):
            continue
        chosen.append(path)
    return chosen


@dataclass(frozen=True)
class _Plan:
    """What one checkpoint needs: its repo, commit and the files still to download (path -> bytes)."""

    repo_id: str
    revision: str
    commit: str
    files: Mapping[str, int]

    @property
    def folder(self) -> str:
        return "models--" + self.repo_id.replace("/", "--")

    @property
    def size(self) -> int:
        return sum(self.files.values())


@dataclass(frozen=True)
class Acquisition:
    """What :func:`acquire` did: the ready tool, what was downloaded, from where, to where."""

    tool: Tool
    repos: tuple[str, ...]
    files: int
    bytes: int
    endpoint: str
    cache_dir: str
    seconds: float

    def summary(self) -> str:
        """One line: ``'image_captioner is ready: 6 files (96.1 kB) of ... downloaded from ...'``."""
        if not self.repos:
            return f"{self.tool.name} is ready: nothing to download."
        return (f"{self.tool.name} is ready: {self.files} files ({human_size(self.bytes)}) of "
                f"{', '.join(self.repos)} downloaded from {self.endpoint} into {self.cache_dir} "
                f"in {self.seconds:.1f} s.")


def add_tool(name: str | Tool, *, toolbox: Any = None, endpoint: str | None = None, token: str | None = None,
             cache_dir: str | os.PathLike | None = None, progress: Any = True) -> Tool:
    """Download what the tool ``name`` needs, add it to ``toolbox`` (if given) and return it.

    Parameters
    ----------
    name:
        A tool name: a model-backed task (``"image_captioner"``, ``"translator"``...), a tool of
        ``toolbox`` (its own checkpoint is downloaded), or a tool that needs no model; or a Tool.
    toolbox:
        Where the ready tool goes (``agent.toolbox``); a tool of that name is replaced.
    endpoint:
        The Hub to download from; default ``$HF_ENDPOINT``, else huggingface.co.
    token:
        A Hub token for gated or private checkpoints (default: the tool's, then this machine's).
    cache_dir:
        The Hugging Face cache to download into (default: the standard one, ``$HF_HUB_CACHE``);
        the tool then loads from there.
    progress:
        ``True``: huggingface_hub's progress bars (widgets in a notebook); ``False``: none; or a
        tqdm class of your own.

    Raises
    ------
    ToolError
        ``name`` is no tool (the message lists the closest names).
    MissingDependencyError
        The tool needs a package that is not installed (the message names the extra).
    DownloadError
        The download failed (network, HTTP status, no disk space); nothing was kept.

    Examples
    --------
    >>> captioner = add_tool("image_captioner", toolbox=agent.toolbox)  # doctest: +SKIP
    """
    return acquire(name, toolbox=toolbox, endpoint=endpoint, token=token, cache_dir=cache_dir,
                   progress=progress).tool


def acquire(name: str | Tool, *, toolbox: Any = None, endpoint: str | None = None, token: str | None = None,
            cache_dir: str | os.PathLike | None = None, progress: Any = True) -> Acquisition:
    """:func:`add_tool`, returning what was downloaded as well (an :class:`Acquisition`)."""
    started = time.perf_counter()
    tool = _find_tool(name, toolbox)
    _check_packages(tool)
    checkpoints = _checkpoints(tool)
    own_cache = getattr(tool, "hub_kwargs", {}).get("cache_dir")
    cache = Path(own_cache or cache_dir or (_default_cache() if checkpoints else ".")).expanduser()
    needed = [(repo, files) for repo, files in checkpoints if not checkpoint_cached(repo, files, cache_dir=cache)]
    plans: list[_Plan] = []
    where = ""
    if needed:
        hub = require("huggingface_hub", extra="remote", purpose="Downloading a tool's weights")
        where = (endpoint or os.environ.get("HF_ENDPOINT") or hub.constants.ENDPOINT).rstrip("/")
        token = token or getattr(tool, "token", None)
        if _offline(hub):
            raise DownloadError(
                f"Cannot download {tool.name!r}: downloads are switched off ($HF_HUB_OFFLINE is set).",
                hint="Start the kernel without HF_HUB_OFFLINE (huggingface_hub reads it at import), then "
                     f"run %agent tools add {tool.name} again.")
        revision = str(getattr(tool, "hub_kwargs", {}).get("revision") or "main")
        plans = [_plan(hub, repo, revision, where, token, tool.name, cache) for repo, _ in needed]
        _check_space(tool.name, plans, cache)
        _download(hub, tool.name, plans, cache, where, token, progress)
    if cache_dir is not None and not own_cache and isinstance(getattr(tool, "hub_kwargs", None), dict):
        tool.hub_kwargs["cache_dir"] = str(cache)
    if toolbox is not None:
        toolbox.add(tool)
    return Acquisition(tool=tool, repos=tuple(p.repo_id for p in plans), files=sum(len(p.files) for p in plans),
                       bytes=sum(p.size for p in plans), endpoint=where,
                       cache_dir=str(cache) if checkpoints else "",
                       seconds=time.perf_counter() - started)


# --- which tool -------------------------------------------------------------------------------


def _find_tool(name: str | Tool, toolbox: Any) -> Tool:
    if isinstance(name, Tool):
        return name
    if not isinstance(name, str) or not name.strip():
        raise ToolError(f"add_tool needs a tool name, got {name!r}.", hint=f"Tools with weights: {', '.join(TASKS)}.")
    name = name.strip()
    if toolbox is not None and name in toolbox:
        return toolbox[name]
    if name in TASKS:
        return task_class(name)()
    from .loading import offline_tool_factories

    factories = offline_tool_factories()
    if name in factories:
        return factories[name]()
    known = [*TASKS, *factories, *(toolbox or ())]
    close = closest_names(name, known)
    raise ToolError(
        f"There is no tool named {name!r}" + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close
                                               else "."),
        hint=f"Tools that can be added: {', '.join(TASKS)}. See them with %agent tools.")


def _checkpoints(tool: Tool) -> list[tuple[str, tuple[str, ...]]]:
    """The Hub checkpoints the tool loads (a model object, or a loaded tool, needs none)."""
    listed = getattr(tool, "checkpoints", None)
    if listed is None or getattr(tool, "is_initialized", False):
        return []
    found = []
    for repo, files in listed():
        if not repo or (is_folder(repo) and checkpoint_cached(repo, files)):
            continue
        if is_folder(repo):
            raise ToolError(f"The tool {tool.name!r} loads the folder {repo!r}, which holds no saved model "
                            f"({', '.join(files)}); there is nothing to download for a folder.",
                            hint="Save the model there, or make the tool with model= a Hub id or another folder.")
        found.append((repo, files))
    return found


def _check_packages(tool: Tool) -> None:
    missing = missing_packages(tool)
    if missing:
        package, extra = missing[0]
        raise MissingDependencyError(package, extra or "all", f"The tool {tool.name!r}")


def _offline(hub: Any) -> bool:
    """Whether huggingface_hub's downloads are switched off ($HF_HUB_OFFLINE, read at its import)."""
    check = getattr(hub.constants, "is_offline_mode", None)
    return bool(check() if callable(check) else getattr(hub.constants, "HF_HUB_OFFLINE", False))


def _default_cache() -> str:
    hub = require("huggingface_hub", extra="remote", purpose="Downloading a tool's weights")
    return hub.constants.HF_HUB_CACHE


# --- what to download -------------------------------------------------------------------------


def _plan(hub: Any, repo_id: str, revision: str, endpoint: str, token: str | None, tool: str, cache: Path) -> _Plan:
    api = hub.HfApi(endpoint=endpoint, token=token)
    try:
        info = api.repo_info(repo_id, revision=revision)
        tree = [f for f in api.list_repo_tree(repo_id, recursive=True, revision=info.sha)
                if isinstance(f, hub.RepoFile)]
    except Exception as e:
        raise _failure(e, tool=tool, repo=repo_id, endpoint=endpoint, cache=cache) from e
    sizes = {f.path: int(f.lfs.size if f.lfs is not None else (f.size or 0)) for f in tree}
    chosen = select_files(sizes)
    if not any(p.endswith(_WEIGHTS) for p in chosen):
        raise DownloadError(f"The repo {repo_id!r} at {endpoint} holds no weights that {tool!r} can load "
                            f"(files: {', '.join(sorted(sizes)[:8]) or 'none'}).",
                            hint="Check the tool's checkpoint (model=...), or the endpoint.")
    snapshot = cache / ("models--" + repo_id.replace("/", "--")) / "snapshots" / info.sha
    todo = {p: sizes[p] for p in chosen if not (snapshot / p).exists()}
    return _Plan(repo_id, revision, info.sha, todo)


def _check_space(tool: str, plans: list[_Plan], cache: Path) -> None:
    needed = sum(p.size for p in plans)
    free = _free_bytes(cache)
    if free is not None and needed > free:
        raise _no_space(tool, needed, free, cache)


def _free_bytes(folder: Path) -> int | None:
    for path in (folder, *folder.parents):
        try:
            return shutil.disk_usage(path).free
        except OSError:
            continue
    return None


# --- downloading ------------------------------------------------------------------------------


def _download(hub: Any, tool: str, plans: list[_Plan], cache: Path, endpoint: str, token: str | None,
              progress: Any) -> None:
    bar = _bar_class(progress)
    staging: Path | None = None
    current = plans[0].repo_id
    try:
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".nbagents-staging-", dir=cache))
        for plan in plans:
            current = plan.repo_id
            if not plan.files:
                continue
            logger.info("Downloading %d files (%s) of %s from %s for %s", len(plan.files),
                        human_size(plan.size), plan.repo_id, endpoint, tool)
            hub.snapshot_download(plan.repo_id, revision=plan.commit, cache_dir=str(staging), endpoint=endpoint,
                                  token=token, allow_patterns=[glob.escape(p) for p in plan.files],
                                  tqdm_class=bar)
        _move_into_place(staging, cache)
        for plan in plans:
            _write_ref(cache, plan)
    except DownloadError:
        raise
    except Exception as e:
        needed = sum(p.size for p in plans)
        raise _failure(e, tool=tool, repo=current, endpoint=endpoint, cache=cache, needed=needed) from e
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(staging: Path, cache: Path) -> None:
    """Move what the staging cache holds into the cache (renames): blobs first, then the
    snapshots' links. Entries the cache already has are kept; the staging tree listings are not
    moved (they list files left out on purpose)."""
    moves: list[tuple[int, Path]] = []
    for root, dirs, files in os.walk(staging):
        rel_root = Path(root).relative_to(staging)
        dirs[:] = [d for d in dirs if not (rel_root == Path(".") and d == ".locks")
                   and not (rel_root.name.startswith("models--") and d in ("trees", "refs"))]
        for name in files:
            rel = rel_root / name
            moves.append((1 if "snapshots" in rel.parts else 0, rel))
    for _, rel in sorted(moves):
        target = cache / rel
        if os.path.lexists(target):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, target)


def _write_ref(cache: Path, plan: _Plan) -> None:
    """``refs/<revision>`` -> the commit, written atomically: what makes the snapshot visible."""
    if plan.revision != plan.commit:
        refs = cache / plan.folder / "refs"
        refs.mkdir(parents=True, exist_ok=True)
        temporary = refs / f".{plan.revision}.nbagents.tmp"
        temporary.write_text(plan.commit)
        os.replace(temporary, refs / plan.revision)


def _bar_class(progress: Any) -> Any:
    if progress is True or progress is None:
        return None  # huggingface_hub's own bars
    if progress is False:
        return _silent_bar()
    return progress


def _silent_bar() -> type:
    from tqdm.auto import tqdm

    class SilentBar(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return SilentBar


# --- failures ---------------------------------------------------------------------------------


def _no_space(tool: str, needed: int, free: int | None, cache: Path) -> DownloadError:
    free_text = human_size(free) if free is not None else "an unknown amount"
    return DownloadError(
        f"Not enough disk space to download {tool!r}: its files need {human_size(needed)} ({needed} bytes) in "
        f"{cache}, which has {free_text} free{f' ({free} bytes)' if free is not None else ''}.",
        hint="Free some space there, or download into a folder on a bigger disk: "
             f"add_tool({tool!r}, cache_dir='/path/to/folder'), or set $HF_HUB_CACHE before starting the kernel.")


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _kinds(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def _failure(error: BaseException, *, tool: str, repo: str, endpoint: str, cache: Path,
             needed: int | None = None) -> DownloadError:
    """A DownloadError that says what failed, from any exception huggingface_hub raised."""
    chain = _chain(error)
    for e in chain:
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            return _no_space(tool, needed or 0, _free_bytes(cache), cache)
    where = f"{repo!r} for {tool!r} from {endpoint}"
    again = f"Nothing was kept in the cache; run %agent tools add {tool} again once it is fixed."
    for e in chain:
        kinds = _kinds(e)
        response = getattr(e, "response", None)
        status = getattr(response, "status_code", None)
        url = _url_of(response)
        if "GatedRepoError" in kinds:
            return DownloadError(f"Cannot download {where}: the repo is gated ({status}).",
                                 hint=f"Accept its terms at {endpoint}/{repo}, then pass token= or set $HF_TOKEN.")
        if "RepositoryNotFoundError" in kinds:
            return DownloadError(f"Cannot download {where}: the Hub has no such repo, or it is private ({status}).",
                                 hint="Check the tool's checkpoint and $HF_ENDPOINT; for a private repo pass "
                                      "token= or set $HF_TOKEN.")
        if "RevisionNotFoundError" in kinds:
            return DownloadError(f"Cannot download {where}: the repo has no revision named in the tool's "
                                 f"hub_kwargs ({status}).", hint="Check hub_kwargs={'revision': ...}.")
        if "OfflineModeIsEnabled" in kinds:
            return DownloadError(f"Cannot download {where}: downloads are switched off ($HF_HUB_OFFLINE is set).",
                                 hint="Start the kernel without HF_HUB_OFFLINE.")
        if status is not None and status >= 400:
            detail = (getattr(e, "server_message", None) or "").strip().splitlines()
            return DownloadError(
                f"Downloading {where} failed: {url or endpoint} answered HTTP {status}"
                + (f" ({detail[0][:200]})." if detail else "."), hint=again)
        if kinds & {"ConnectError", "ConnectionError", "ConnectTimeout", "TimeoutException", "Timeout",
                    "ReadTimeout", "NetworkError", "RemoteProtocolError", "TransportError", "ProtocolError"}:
            target = _url_of(e)
            return DownloadError(
                f"Cannot reach the Hub at {endpoint} to download {repo!r} for {tool!r}: "
                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no answer'}"
                + (f" ({target})." if target else "."),
                hint="Check the network connection, or point $HF_ENDPOINT (or endpoint=) at a reachable Hub. "
                     + again)
    first = str(error).strip().splitlines()
    return DownloadError(f"Downloading {where} failed: {type(error).__name__}: {first[0] if first else ''}",
                         hint=again)


def _url_of(obj: Any) -> str | None:
    """The URL of a response's or an HTTP error's request (``None`` where there is none)."""
    if obj is None:
        return None
    try:
        url = getattr(getattr(obj, "request", None), "url", None)
    except Exception:  # httpx raises RuntimeError for an error or response without a request
        return None
    return str(url) if url is not None else None
