"""Helpers shared by the flood and crossing tests: both isolation modes, with tools from a
module (tests/interp_crossing_tools.py) and from an IPython user namespace (the same source run
as a notebook cell, so the tools' globals hold ``get_ipython``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import interp_crossing_tools  # noqa: E402

MODES = ["kernel", "process"]
SOURCES = ["module", "ipython"]


def make_shell():
    """An IPython shell whose user namespace holds the tools (a notebook's tools)."""
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    result = ip.run_cell(Path(interp_crossing_tools.__file__).read_text())
    assert result.success
    return ip


def tools_from(source, shell) -> dict:
    if source == "module":
        return dict(interp_crossing_tools.CROSSING_TOOLS)
    return {name: shell.user_ns[name] for name in interp_crossing_tools.CROSSING_TOOLS}


def received(tools) -> list:
    """What the ``echo`` tool of this source recorded."""
    return tools["echo"].__globals__["RECEIVED"]


def calls(tools) -> list:
    return tools["count"].__globals__["CALLS"]


def isolation(mode: str) -> str:
    return "none" if mode == "kernel" else "process"
