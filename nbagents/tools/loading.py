"""``load_tool``: a tool by task name, from a folder written by ``Tool.save``, or from a Hub repo.

* A task name (``"translator"``, ``"image_captioner"``...) gives that model-backed tool, with
  ``model_repo_id`` as its checkpoint; ``remote=True`` gives a :class:`RemoteTool` calling an
  inference endpoint instead. The names of the tools that need no model (``"rotate_image"``...)
  work too.
* A folder holds ``tool.json`` (the declaration) and, for custom tools, Python code. Code runs in
  this kernel with your rights, so it is imported only with ``trust_remote_code=True``; a folder
  without code (a saved built-in tool or remote tool) loads without it.
* A Hub repo id (``"owner/name"``, a Space or a model repo) is downloaded with
  ``huggingface_hub.snapshot_download`` and then loaded as a folder, under the same rule.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..deps import require
from ..errors import ToolError, closest_names
from .base import Tool
from .builtin import builtin_tool
from .declaration import read_declaration
from .tasks import TASKS, task_class

__all__ = ["load_tool", "load_tool_from_folder", "load_tool_from_hub", "offline_tool_factories"]

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def offline_tool_factories() -> dict[str, Callable[[], Tool]]:
    """Name -> factory of every tool that needs no model."""
    from . import audio, charts, image, tables, text, web  # imported on use: PIL and numpy

    functions = (*image.FUNCTIONS, *audio.FUNCTIONS, *text.FUNCTIONS, *web.FUNCTIONS, *tables.FUNCTIONS,
                 *charts.FUNCTIONS)
    return {f.__name__: (lambda f=f: builtin_tool(f)) for f in functions}


def load_tool(task_or_repo_id: str | os.PathLike, model_repo_id: str | None = None, remote: bool = False,
              token: str | None = None, trust_remote_code: bool = False, **kwargs: Any) -> Tool:
    """Load a tool by task name, local folder or Hub repo id.

    Parameters
    ----------
    task_or_repo_id:
        A task (``"translator"``), a tool name (``"rotate_image"``), a folder saved with
        ``Tool.save``, or a Hub repo id holding a saved tool.
    model_repo_id:
        The checkpoint for a task's model (a Hub id or a local folder), or for its endpoint.
    remote:
        Call an inference endpoint instead of running the model here (``endpoint_url=`` picks one;
        default: the Hugging Face inference API).
    token:
        Hub / endpoint token.
    trust_remote_code:
        Allow running the Python code that comes with a folder or a Hub repo.
    **kwargs:
        Passed to the tool's constructor (``device``, ``dtype``, ``quantization``...; for remote
        tools ``endpoint_url``, ``timeout``, ``headers``, ``transport``).

    Examples
    --------
    >>> translator = load_tool("translator")                          # doctest: +SKIP
    >>> captioner = load_tool("image_captioner", remote=True)         # doctest: +SKIP
    >>> mine = load_tool("./my_tool", trust_remote_code=True)         # doctest: +SKIP
    """
    name = os.fspath(task_or_repo_id)
    if isinstance(task_or_repo_id, os.PathLike) or Path(name).expanduser().is_dir():
        return load_tool_from_folder(Path(name).expanduser(), trust_remote_code=trust_remote_code,
                                     token=token, model_repo_id=model_repo_id, remote=remote, **kwargs)
    if name in TASKS:
        return _task_tool(name, model_repo_id, remote, token, kwargs)
    factories = offline_tool_factories()
    if name in factories:
        if remote or model_repo_id or kwargs:
            raise ToolError(f"The tool {name!r} needs no model: it takes no model, endpoint or options.")
        return factories[name]()
    if _REPO_ID.match(name):
        return load_tool_from_hub(name, trust_remote_code=trust_remote_code, token=token,
                                  model_repo_id=model_repo_id, remote=remote, **kwargs)
    close = closest_names(name, [*TASKS, *factories])
    raise ToolError(
        f"{name!r} is not a tool name, a folder or a Hub repo id.",
        hint=(f"Closest tools: {', '.join(close)}. " if close else "") + f"Tasks: {', '.join(TASKS)}.",
    )


def _task_tool(name: str, model_repo_id: str | None, remote: bool, token: str | None,
               kwargs: dict[str, Any]) -> Tool:
    cls = task_class(name)
    if remote:
        from .remote import RemoteTool

        repo = model_repo_id or getattr(cls, "remote_checkpoint", None) or cls.default_checkpoint
        return RemoteTool(spec=cls, repo_id=repo, token=token, **kwargs)
    if model_repo_id is not None:
        kwargs["model"] = model_repo_id
    if token is not None:
        kwargs["token"] = token
    return cls(**kwargs)


def _inputs_mapping(inputs: Any) -> Any:
    if isinstance(inputs, list):
        return {i["name"]: {k: v for k, v in i.items() if k != "name"} for i in inputs}
    return inputs


def load_tool_from_folder(folder: str | os.PathLike, *, trust_remote_code: bool = False,
                          token: str | None = None, model_repo_id: str | None = None,
                          remote: bool = False, **kwargs: Any) -> Tool:
    """Load the tool saved in ``folder`` (see :func:`load_tool`)."""
    folder = Path(folder).resolve()
    decl = read_declaration(folder)
    code = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py"))
    task = decl.get("task")
    if not code and decl.get("endpoint_url"):
        from .remote import RemoteTool

        spec = task_class(task) if task in TASKS else None
        return RemoteTool(decl["endpoint_url"], spec=spec, name=decl.get("name"),
                          description=decl.get("description"), inputs=_inputs_mapping(decl.get("inputs")),
                          output_type=decl.get("output_type"), token=token, **kwargs)
    factories = offline_tool_factories()
    if not code and decl.get("builtin") in factories:
        return factories[decl["builtin"]]()
    if not code and task in TASKS:
        options = {**decl.get("options", {}), **kwargs}
        return _task_tool(task, model_repo_id or decl.get("model"), remote, token, options)
    if not code:
        raise ToolError(f"{folder} declares a tool but holds no code, task or endpoint to run it.")
    if not trust_remote_code:
        shown = ", ".join(code[:5]) + (" ..." if len(code) > 5 else "")
        raise ToolError(
            f"The tool in {folder} comes with Python code ({shown}). Loading it runs that code in this "
            "kernel with your rights (files, network, secrets), so it is not loaded by default.",
            hint="Read the code first; if you trust it, load it with load_tool(..., trust_remote_code=True).",
        )
    obj = _import_tool_object(folder, decl)
    if model_repo_id is not None:
        kwargs["model"] = model_repo_id
    if token is not None:
        kwargs["token"] = token
    if isinstance(obj, Tool):
        if kwargs:
            raise ToolError(f"The tool in {folder} is an instance; it takes no options ({', '.join(kwargs)}).")
        return obj
    if isinstance(obj, type) and issubclass(obj, Tool):
        return obj(**kwargs)
    raise ToolError(f"{decl.get('class') or decl.get('tool_class')!r} in {folder} is not a Tool.")


def _import_tool_object(folder: Path, decl: dict[str, Any]) -> Any:
    if "tool_class" in decl:  # the Transformers Agents format: "module.ClassName"
        module_name, _, attr = str(decl["tool_class"]).rpartition(".")
    else:
        module_name, attr = Path(str(decl.get("module", "tool.py"))).stem, str(decl.get("class", ""))
    if not module_name or not attr:
        raise ToolError(f"The tool.json in {folder} does not say which module and class hold the tool.")
    stamps = [f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(folder.glob("*.py"))]
    digest = hashlib.sha1("|".join([str(folder), *stamps]).encode()).hexdigest()[:12]
    package = f"nbagents_loaded_tool_{digest}"
    if package not in sys.modules:
        pkg = types.ModuleType(package)
        pkg.__path__ = [str(folder)]
        pkg.__file__ = str(folder / "__init__.py")
        sys.modules[package] = pkg
    try:
        module = importlib.import_module(f"{package}.{module_name}")
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith(package):
            raise ToolError(f"{folder} has no module {module_name!r}.") from e
        raise ToolError(f"The tool's code in {folder} needs the package {e.name!r}, which is not installed.",
                        hint=f"Install it (pip install {e.name}) and load the tool again.") from e
    except ToolError:
        raise
    except Exception as e:  # the tool's own code failed at import
        raise ToolError(f"The tool's code in {folder} failed when imported: {type(e).__name__}: {e}") from e
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ToolError(f"{module_name}.py in {folder} has no {attr!r}.") from None


def load_tool_from_hub(repo_id: str, *, trust_remote_code: bool = False, token: str | None = None,
                       repo_type: str | None = None, **kwargs: Any) -> Tool:
    """Download a saved tool from the Hub (a Space, then a model repo) and load it as a folder."""
    purpose = "Loading tools from the Hub"
    hub = require("huggingface_hub", extra="remote", purpose=purpose)
    hub_errors = require("huggingface_hub.errors", extra="remote", purpose=purpose)
    last: Exception | None = None
    for kind in [repo_type] if repo_type else ["space", "model"]:
        try:
            folder = hub.snapshot_download(repo_id, repo_type=kind, token=token,
                                           allow_patterns=["*.json", "*.py", "*.txt", "*.md"])
        except hub_errors.RepositoryNotFoundError as e:
            last = e
            continue
        except Exception as e:  # offline, connection, HTTP errors
            last = e
            if "offline" in str(e).lower() or "connect" in str(e).lower() or os.environ.get("HF_HUB_OFFLINE") == "1":
                break
            continue
        return load_tool_from_folder(folder, trust_remote_code=trust_remote_code, token=token, **kwargs)
    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or "offline" in str(last).lower()
    raise ToolError(
        f"Cannot get the tool {repo_id!r} from the Hub"
        + (": the Hub cannot be reached and it is not in the local cache." if offline else f": {last}"),
        hint="Check the repo id and the network, or download the repo and pass its folder to load_tool.",
    ) from last
