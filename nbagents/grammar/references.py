"""The reference strings of a plan: ``"<GENERATED>-N"`` (the result of task N) and
``"<INPUT>-name"`` (an input), the HuggingGPT convention. The plan grammar, the plan schema and
the task graph read them the same way."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["GENERATED", "INPUT", "references"]

GENERATED = re.compile(r"^<GENERATED>-(\d+)$")
INPUT = re.compile(r"^<INPUT>-([A-Za-z][A-Za-z0-9_]*)$")


def references(value: Any) -> tuple[set[int], set[str]]:
    """The task ids and input names ``value`` refers to (strings, lists and dicts, nested)."""
    gen: set[int] = set()
    inp: set[str] = set()
    if isinstance(value, str):
        m = GENERATED.match(value.strip())
        if m:
            gen.add(int(m.group(1)))
        m = INPUT.match(value.strip())
        if m:
            inp.add(m.group(1))
    elif isinstance(value, list):
        for v in value:
            g, i = references(v)
            gen |= g
            inp |= i
    elif isinstance(value, Mapping):
        for v in value.values():
            g, i = references(v)
            gen |= g
            inp |= i
    return gen, inp
