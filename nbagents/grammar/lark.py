"""Small pieces of llguidance's Lark dialect that every grammar here builds from: literals,
alternatives, regex escapes and "contains none of" intersections."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

__all__ = ["alt", "choice_literal", "excluding", "lit", "regex_escape"]


def lit(text: str) -> str:
    """A Lark string literal."""
    return json.dumps(text)


def alt(options: Iterable[str]) -> str:
    options = list(dict.fromkeys(o for o in options if o))
    return " | ".join(options)


_META = set("\\.+*?()|[]{}^$-&~/#")


def regex_escape(text: str) -> str:
    """Escape the regex metacharacters only (Rust's regex syntax rejects needless escapes)."""
    return "".join("\\" + c if c in _META else c for c in text)


def excluding(forbid: Iterable[str]) -> str:
    """`` & ~/.*(a|b).*/``: the lexeme may not contain any of ``forbid`` (one-line ones)."""
    parts = [regex_escape(f) for f in forbid if f and "\n" not in f]
    return f" & ~/.*({'|'.join(parts)}).*/" if parts else ""


def choice_literal(value: Any) -> str:
    """A choice as a grammar literal of its Python source (strings in double quotes)."""
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return lit(repr(value))
    if isinstance(value, float) and math.isfinite(value):
        return lit(repr(value))
    if isinstance(value, str) and value.isprintable() and "\\" not in value and '"' not in value:
        return lit(f'"{value}"')
    return ""
