"""Text tools that need no model, and the file-access rules every file tool follows.

Agent code runs tools with the user's rights, and a model can be steered by what it reads (prompt
injection), so the file tools keep to two plain rules:

* **reading** (:func:`readable_path`): regular files only, none inside a hidden folder or hidden
  itself (``~/.ssh``, ``.env``, ``~/.aws`` ...), unless under the nbagents output folder, and never
  more than the tool's size limit;
* **writing** (:func:`writable_path`): only under :func:`nbagents.results.output_dir`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import ToolError
from ..results import output_dir
from .base import Tool
from .builtin import builtin_tool

__all__ = [
    "FUNCTIONS",
    "MAX_TEXT_BYTES",
    "readable_path",
    "writable_path",
    "decode_text",
    "read_text_file",
    "word_count",
    "text_tools",
]

MAX_TEXT_BYTES = 2_000_000


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def readable_path(path: str | os.PathLike, *, max_bytes: int, what: str = "file") -> Path:
    """Check that an agent tool may read ``path`` and return it resolved.

    Raises :class:`ToolError` for a missing file, a folder, a hidden file or a file inside a hidden
    folder (outside the output folder), and a file larger than ``max_bytes``.
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ToolError(f"Expected the path of a {what}, got {type(path).__name__}: {str(path)[:80]!r}.")
    resolved = Path(os.path.expanduser(str(path).strip())).resolve()
    if not resolved.exists():
        raise ToolError(f"No {what} at {str(path)!r}.", hint=f"The working directory is {os.getcwd()}.")
    if not resolved.is_file():
        raise ToolError(f"{str(path)!r} is not a file.")
    if not _inside(resolved, output_dir().resolve()):
        hidden = [p for p in resolved.parts if p.startswith(".") and p not in (".", "..")]
        if hidden:
            raise ToolError(
                f"Agent tools do not read hidden files or files in hidden folders ({hidden[0]!r} in {str(path)!r}).",
                hint="Such folders hold keys and settings (~/.ssh, .env). Copy the file somewhere visible "
                "if the agent really needs it.",
            )
    size = resolved.stat().st_size
    if size > max_bytes:
        raise ToolError(f"The {what} {str(path)!r} has {size:,} bytes; agent tools read at most {max_bytes:,}.")
    return resolved


def writable_path(path: str | os.PathLike, *, default_suffix: str = "") -> Path:
    """Resolve ``path`` inside the output folder (relative paths are taken from it).

    Raises :class:`ToolError` when the path would land outside :func:`~nbagents.results.output_dir`.
    """
    root = output_dir().resolve()
    raw = Path(os.path.expanduser(str(path).strip()))
    target = (raw if raw.is_absolute() else root / raw).resolve()
    if not _inside(target, root) or target == root:
        raise ToolError(
            f"Agent tools write only inside the output folder {str(root)!r}, not to {str(path)!r}.",
            hint="Pass a file name such as 'result.wav'; set $NBAGENTS_OUTPUT_DIR to move the folder.",
        )
    if default_suffix and not target.suffix:
        target = target.with_suffix(default_suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """Decode ``data``: the given encoding, a BOM, UTF-8, then Windows-1252 (never fails)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    candidates = [e for e in (encoding, "utf-8-sig") if e]
    for enc in candidates:
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_text_file(path: str) -> str:
    """Read the text file at `path`.

    UTF-8 first, then Windows-1252; at most 2 MB; binary files are refused.
    """
    resolved = readable_path(path, max_bytes=MAX_TEXT_BYTES, what="text file")
    data = resolved.read_bytes()
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ToolError(f"{path!r} looks like a binary file, not text.")
    return decode_text(data)


_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(_WORD.findall(str(text)))


# the tool functions of this module, in the order the toolbox lists them
FUNCTIONS = (read_text_file, word_count)


def text_tools() -> list[Tool]:
    """Fresh instances of the text tools."""
    return [builtin_tool(f) for f in FUNCTIONS]
