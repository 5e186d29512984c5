"""The tools that exist and whether each is ready here: :func:`catalogue` -> :class:`ToolEntry`.

A tool is *ready* when calling it needs nothing this machine lacks. Every tool of a toolbox is
ready unless it is model-backed and its weights are not in the Hugging Face cache (or a package it
imports is not installed), or it calls a Hugging Face endpoint and no token is set. The
model-backed tasks that are not in the toolbox are listed too, ready or not, so "no ready tool
can do that" can name the tool that would, what it lacks (``missing``) and the one command that
gets it (``command``). Only the file system is read: no network, and no model is loaded.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .base import Tool
from .pipeline import checkpoint_cached
from .tasks import TASKS, task_class

__all__ = ["ToolEntry", "catalogue", "entry_for", "missing_packages", "is_folder"]

_HF_HOSTS = ("huggingface.co", "hf.co", "hf.space")


@dataclass(frozen=True)
class ToolEntry:
    """One tool and whether it is ready here.

    Attributes
    ----------
    name, description:
        The tool's.
    ready:
        Whether it can run now, offline.
    missing:
        What it lacks, with names (``""`` when ready): "the weights of 'Salesforce/blip-image-
        captioning-base' are not downloaded".
    command:
        The one command that gets it (``""`` when ready): ``%agent tools add image_captioner``
        with the Python call next to it, ``pip install 'nbagents[diffusers]'``, ``export HF_TOKEN=...``.
    tool:
        An instance (cheap: nothing loads until it is called), for its name, description and inputs.
    """

    name: str
    description: str
    ready: bool
    missing: str = ""
    command: str = ""
    tool: Tool | None = field(default=None, compare=False, repr=False)

    def needed(self) -> dict[str, str]:
        """``{name, missing, command}``: one item of ``NoToolError(needed=[...])``."""
        return {"name": self.name, "missing": self.missing, "command": self.command}


def catalogue(toolbox: Any = None, *, cache_dir: str | os.PathLike | None = None) -> list[ToolEntry]:
    """Every tool of ``toolbox``, then every model-backed task not in it, each with its readiness.

    Parameters
    ----------
    toolbox:
        A :class:`~nbagents.tools.Toolbox`, a mapping of names to tools or an iterable of tools;
        default: the tools that need no model.
    cache_dir:
        The Hugging Face cache to look in (default: the standard one). A tool with its own
        ``hub_kwargs={"cache_dir": ...}`` is looked up there.

    Examples
    --------
    >>> [e.name for e in catalogue(toolbox) if not e.ready]                  # doctest: +SKIP
    ['image_captioner', 'image_generator', ...]
    """
    if toolbox is None:
        from .defaults import default_tools

        tools = default_tools(model_tools="none")
    else:
        tools = list(toolbox.values()) if isinstance(toolbox, Mapping) else list(toolbox)
    names = {t.name for t in tools}
    tools += [task_class(name)() for name in TASKS if name not in names]
    return [entry_for(t, cache_dir=cache_dir) for t in tools]


def entry_for(tool: Tool, *, cache_dir: str | os.PathLike | None = None) -> ToolEntry:
    """The :class:`ToolEntry` of one tool (see :func:`catalogue`)."""
    gaps: list[str] = []
    commands: list[str] = []
    packages = missing_packages(tool)
    if packages:
        gaps.append(" and ".join(f"the package {p!r}" + (f" (extra {x!r})" if x else "") for p, x in packages)
                    + (" is" if len(packages) == 1 else " are") + " not installed")
        extras = sorted({x for _, x in packages if x})
        plain = [p for p, x in packages if not x]
        commands.append("pip install " + " ".join([*(f"'nbagents[{x}]'" for x in extras), *plain]))
    absent = _absent_checkpoints(tool, cache_dir)
    hub_ids = [repo for repo in absent if not is_folder(repo)]
    folders = [repo for repo in absent if is_folder(repo)]
    if hub_ids:
        gaps.append("the weights of " + " and ".join(repr(r) for r in hub_ids)
                    + " are not downloaded")
        call = f"nbagents.add_tool({tool.name!r})" if tool.name in TASKS else \
            f"nbagents.add_tool({tool.name!r}, toolbox=agent.toolbox)"
        commands.append(f"%agent tools add {tool.name} (or {call})")
    if folders:
        gaps.append("the folder " + " and ".join(repr(f) for f in folders) + " holds no saved model")
        commands.append("save the model there, or load the tool with model= a folder that holds one")
    if _needs_token(tool):
        gaps.append("no Hugging Face token ($HF_TOKEN)")
        commands.append("export HF_TOKEN=hf_... (or `hf auth login`, or pass token= to load_tool)")
    return ToolEntry(name=tool.name, description=tool.description, ready=not gaps, missing=" and ".join(gaps),
                     command=", then ".join(commands), tool=tool)


def missing_packages(tool: Tool) -> list[tuple[str, str | None]]:
    """``(package, extra)`` for each package the tool imports that is not installed."""
    return [(package, extra) for module, package, extra in _requirements(tool) if not _installed(module)]


def _requirements(tool: Tool) -> list[tuple[str, str, str | None]]:
    """``(module, package, extra)`` the tool needs, by the kind of tool (no import happens)."""
    kinds = {cls.__name__ for cls in type(tool).__mro__}
    if "DiffusersTool" in kinds:
        return [("torch", "torch", None), ("diffusers", "diffusers", "diffusers")]
    if "PipelineTool" in kinds:
        return [("torch", "torch", None), ("transformers", "transformers", None)]
    if "RemoteTool" in kinds:
        return [("httpx", "httpx", "remote")]
    return []


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, a broken package
        return False


def is_folder(repo: str) -> bool:
    """A folder rather than a Hub id (``org/name`` or ``name``)."""
    return (repo.startswith((".", "/", "~")) or repo.count("/") > 1 or "\\" in repo
            or Path(repo).expanduser().exists())


def _absent_checkpoints(tool: Tool, cache_dir: Any) -> list[str]:
    listed = getattr(tool, "checkpoints", None)
    if listed is None or getattr(tool, "is_initialized", False):
        return []
    cache = getattr(tool, "hub_kwargs", {}).get("cache_dir") or cache_dir
    return [repo for repo, files in listed() if repo and not checkpoint_cached(repo, files, cache_dir=cache)]


def _needs_token(tool: Tool) -> bool:
    """A remote tool calling a Hugging Face host with no token anywhere (argument, $HF_TOKEN, login)."""
    url = getattr(tool, "endpoint_url", None)
    if not isinstance(url, str) or getattr(tool, "token", None):
        return False
    host = (urlsplit(url).hostname or "").lower()
    if not any(host == h or host.endswith("." + h) for h in _HF_HOSTS):
        return False
    if os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN"):
        return False
    try:
        from huggingface_hub import get_token
    except ImportError:  # pragma: no cover - a transformers dependency
        return True
    return not get_token()
