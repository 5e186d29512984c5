"""Secrets never leave: engines register the tokens they use, and every Run, history entry, log
record and error message that nbagents writes passes through :func:`redact`."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["register_secret", "redact", "REDACTED", "Secret"]

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


class Secret:
    """A credential given to an agent as an input, which its program may pass to tools but never read.

    ``agent.run("...", token=Secret(os.environ["API_TOKEN"]))``: the program sees an opaque
    handle (``<secret handle #1>``) that it can hand to tools, but not print, format or look
    into; the value is registered with :func:`register_secret`, so it is redacted from Runs,
    history, logs and error messages; its ``repr``/``str`` are ``Secret('[REDACTED]')`` and
    ``[REDACTED]`` everywhere, so a tool that turns its argument into text sends no credential.
    A tool that needs the value asks for it explicitly: ``token.reveal()``. Without the
    wrapper, anything a program can read (an input's text, or a dict holding a key) it can
    also pass to any tool as an argument, in both isolation modes.
    """

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value.reveal() if isinstance(value, Secret) else value
        if isinstance(self._value, str):
            register_secret(self._value)

    def reveal(self) -> Any:
        """The wrapped value (for the tool that needs it)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __reduce__(self):
        raise TypeError("A Secret cannot be pickled (it would write the value out).")
