"""Secrets never leave: engines register the tokens they use, and every Run, history entry, log
record and error message that nbagents writes passes through :func:`redact`."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["register_secret", "redact", "REDACTED"]

REDACTED = "[REDACTED]"
_secrets: set[str] = set()
_lock = threading.Lock()
# Well-known token shapes, redacted even when nobody registered them.
_PATTERNS = re.compile(
    r"(hf_[A-Za-z0-9]{16,}"
    r"|sk-[A-Za-z0-9_\-]{16,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._\-]{8,}"
    r"|\b(?i:(?:api[_-]?key|token|access_token|key)=)[A-Za-z0-9._~+/\-]{4,})"
)


def register_secret(value: str | None) -> None:
    """Remember a secret (an API key or token) so :func:`redact` removes it everywhere."""
    if value and isinstance(value, str) and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def _redact_text(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    return _PATTERNS.sub(REDACTED, text)


def redact(value: Any) -> Any:
    """Return ``value`` with every registered secret and token-shaped string replaced."""
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    return value
