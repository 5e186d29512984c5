"""The default toolbox: tools that need no model first, then model-backed ones (loaded lazily).

Which model-backed tools are included is decided by ``model_tools`` (or ``$NBAGENTS_MODEL_TOOLS``):

* ``"auto"`` (default): only those whose weights are already on this machine (the local Hugging
  Face cache, checked on the file system, no network). Every tool the model is shown then works,
  also offline, and a 135M model is not handed ten tools that would fail or download gigabytes.
* ``"all"``: every task (the weights are downloaded on first use, 0.3 to 4 GB each).
* ``"none"``: only the tools that need no model.

Any tool can also be added by hand: ``agent.toolbox.add(load_tool("translator"))``.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigurationError
from .base import Tool

__all__ = ["default_tools", "model_tools_status", "MODEL_TOOLS_ENV"]

MODEL_TOOLS_ENV = "NBAGENTS_MODEL_TOOLS"
_MODES = {"auto": "auto", "all": "all", "true": "all", "1": "all", "yes": "all",
          "none": "none", "false": "none", "0": "none", "no": "none"}


def _mode(model_tools: bool | str | None) -> str:
    if model_tools is True:
        return "all"
    if model_tools is False:
        return "none"
    value = model_tools if model_tools is not None else os.environ.get(MODEL_TOOLS_ENV, "auto")
    mode = _MODES.get(str(value).strip().lower())
    if mode is None:
        raise ConfigurationError(f"model_tools must be 'auto', 'all' or 'none', got {value!r}.",
                                 hint=f"Set ${MODEL_TOOLS_ENV} or pass default_tools(model_tools=...).")
    return mode


def _model_tools() -> list[Tool]:
    from .tasks import TASKS, task_class

    return [task_class(name)() for name in TASKS]


def model_tools_status(*, cache_dir: Any = None) -> dict[str, bool]:
    """Task name -> whether its weights are on this machine (what ``"auto"`` includes)."""
    return {t.name: t.is_available_offline(cache_dir=cache_dir) for t in _model_tools()}


def default_tools(*, model_tools: bool | str | None = None, cache_dir: Any = None) -> list[Tool]:
    """Fresh instances of the default tools (cheap: nothing is loaded until a tool is called).

    Parameters
    ----------
    model_tools:
        ``"auto"`` (model-backed tools whose weights are cached here), ``"all"``/``True`` or
        ``"none"``/``False``; default ``$NBAGENTS_MODEL_TOOLS`` or ``"auto"``.
    cache_dir:
        The Hugging Face cache to look in (default: the standard one).
    """
    from .audio import audio_tools
    from .charts import chart_tools
    from .image import image_tools
    from .tables import table_tools
    from .text import text_tools
    from .web import web_tools

    mode = _mode(model_tools)
    tools = [*image_tools(), *audio_tools(), *text_tools(), *web_tools(), *table_tools(), *chart_tools()]
    if mode != "none":
        tools += [t for t in _model_tools() if mode == "all" or t.is_available_offline(cache_dir=cache_dir)]
    return tools
