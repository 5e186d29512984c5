"""The declaration file of a saved tool, ``tool.json``: written by the tools that save no code
(built-in, task and remote tools), read by :func:`~nbagents.tools.loading.load_tool_from_folder`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ToolError
from .base import Tool

__all__ = ["DECLARATIONS", "read_declaration", "save_declaration"]

DECLARATIONS = ("tool.json", "tool_config.json")  # ours, then the Transformers Agents name


def save_declaration(tool: Tool, folder: str | os.PathLike, **extra: Any) -> Path:
    """Write ``tool.json`` only (no code): the declaration plus ``extra`` (task, model, endpoint)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    decl = {**tool.to_dict(), **{k: v for k, v in extra.items() if v not in (None, {}, "")}}
    (folder / "tool.json").write_text(json.dumps(decl, indent=2, default=str), encoding="utf-8")
    return folder


def read_declaration(folder: Path) -> dict[str, Any]:
    """The JSON object in ``folder``'s ``tool.json`` (or ``tool_config.json``)."""
    for name in DECLARATIONS:
        path = folder / name
        if path.is_file():
            try:
                decl = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise ToolError(f"{path} is not valid JSON: {e}") from e
            if not isinstance(decl, dict):
                raise ToolError(f"{path} must hold a JSON object.")
            return decl
    raise ToolError(f"{folder} holds no tool: it has no tool.json.",
                    hint="Save a tool with tool.save(folder), which writes tool.json (and tool.py).")
