"""Secrets never leave: engines register the tokens they use, and every Run, history entry, log
record and error message that nbagents writes passes through :func:`redact`."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

__all__ = ["register_secret", "redact", "REDACTED", "HTTP_LOGGERS", "RedactingFilter",
           "redact_log_text", "redacted_http_logs", "Secret"]

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


# --- the HTTP stack's own loggers --------------------------------------------------------------
#
# httpx, httpcore and the openai SDK log at DEBUG what they send and receive: a server's response
# headers verbatim (httpcore's ``receive_response_headers.complete``), which may echo the
# ``Authorization`` header; hpack logs the headers it encodes. nbagents' own log lines go through
# redact() where they are written; these libraries' lines get it from a filter, attached while an
# engine call runs (:func:`redacted_http_logs`).
#
# The filter is attached to every *logger* of the stack, children included: a logger's filters run
# before any handler sees the record (root's, the user's, one added while the call runs, pytest's
# caplog), so the record is clean everywhere. But they run only for records logged on that very
# logger (a filter on "httpcore" never sees "httpcore.http11"'s records), so each entry attaches it
# to every logger that exists under those names then; and since a library may create its loggers
# during the call (httpx imports httpcore when it opens its first transport), the filter is also
# attached to the handlers those records can reach (the stack loggers' and root's), where it
# rewrites only records of the stack's loggers and lets every other library's records be. (A
# log-record factory would be process-wide and replaced by whoever sets one after.)

#: The loggers (with their children) of the HTTP clients the engines use: httpx and httpcore (and
#: the ``httpx2``/``httpcore2`` copies some openai SDK versions carry), h11/h2/hpack under them,
#: the openai SDK, huggingface_hub, and urllib3 (for requests-based tools).
HTTP_LOGGERS = ("httpx", "httpcore", "httpx2", "httpcore2", "h11", "h2", "hpack", "openai",
                "huggingface_hub", "urllib3")

# A header name that says "credential" (X-Echo-Authorization too). The look-ahead scans one word
# from its start only and never backtracks: no long word is rescanned from every offset.
_CREDENTIAL_NAME = (r"(?=[\w-]*?(?i:authorization|api[-_]?key|subscription-key|auth-token"
                    r"|(?<![\w-])(?:set-)?cookie(?![\w-])))[\w-]+")
_HEADER_WORDS = ("auth", "key", "cookie")
# ('Authorization', 'Bearer x') / (b'api-key', b'x') / {'authorization': "Basic x"}: a quoted name
# and its quoted value, as tuples, bytes and dict reprs show them.
_QUOTED_HEADER = re.compile(
    r"(?P<head>b?(?P<q>['\"])" + _CREDENTIAL_NAME + r"(?P=q)\s*[,:]\s*b?(?P<v>['\"]))"
    r"(?:\\.|(?!(?P=v)).){0,4096}(?P=v)")
# Authorization: Basic x / api-key=x: a header line or a query-style pair.
_BARE_HEADER = re.compile(
    r"(?P<head>(?<![\w'\"-])" + _CREDENTIAL_NAME + r"\s*[:=]\s*)(?![\s'\"\[])"
    r"(?:(?i:bearer|basic|digest|token|negotiate)\s+)?[^\s,;&'\")\]}]+")


def _secret_forms() -> list[str]:
    """The registered secrets, also as reprs, bytes reprs and JSON strings escape them."""
    with _lock:
        secrets = list(_secrets)
    forms = set(secrets)
    for s in secrets:
        forms.update({s.encode("unicode_escape").decode("ascii"), repr(s)[1:-1],
                      repr(s.encode("utf-8"))[2:-1], json.dumps(s)[1:-1]})
    return sorted((f for f in forms if len(f) >= 6), key=len, reverse=True)


def redact_log_text(text: str) -> str:
    """``text`` with every registered secret (in any of its escaped forms), every token-shaped
    string and the value of every credential header (``Authorization``, ``api-key``, ``Cookie``…
    in a header line, a tuple, a dict or a bytes repr) replaced by :data:`REDACTED`."""
    for s in _secret_forms():
        if s in text:
            text = text.replace(s, REDACTED)
    lowered = text.lower()
    if not any(word in lowered for word in _HEADER_WORDS):
        return _PATTERNS.sub(REDACTED, text)
    text = _QUOTED_HEADER.sub(lambda m: f"{m['head']}{REDACTED}{m['v']}", text)
    text = _BARE_HEADER.sub(lambda m: f"{m['head']}{REDACTED}", text)
    return _PATTERNS.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """A logging filter that lets every record through with its message (and traceback) passed
    through :func:`redact_log_text`. A record it changes keeps the redacted text as ``msg`` and
    no ``args``; one it does not change is left as it was.

    Parameters
    ----------
    loggers:
        Rewrite only the records of these loggers and their children (default: all records).
    """

    def __init__(self, loggers: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.loggers = loggers
        self._prefixes = tuple(f"{name}." for name in loggers)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.loggers and not (record.name in self.loggers or record.name.startswith(self._prefixes)):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging would print msg and args to stderr
            message = f"{record.msg} {record.args!r}"
            record.msg, record.args = redact_log_text(message), None
        else:
            clean = redact_log_text(message)
            if clean != message:
                record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_log_text(record.stack_info)
        return True


_log_filter = RedactingFilter(HTTP_LOGGERS)
_log_lock = threading.Lock()
_log_depth = 0
_filtered: list[logging.Filterer] = []  # the loggers and handlers that carry it now


def _stack_loggers() -> list[logging.Logger]:
    prefixes = tuple(f"{name}." for name in HTTP_LOGGERS)
    return [obj for name, obj in list(logging.root.manager.loggerDict.items())
            if isinstance(obj, logging.Logger) and (name in HTTP_LOGGERS or name.startswith(prefixes))]


@contextmanager
def redacted_http_logs() -> Iterator[None]:
    """While the block runs, the records of the :data:`HTTP_LOGGERS` (children included) are
    redacted (:class:`RedactingFilter`). Re-entrant and thread-safe: nested and concurrent blocks
    share one filter, attached by the first to enter (and to any logger or handler of the stack
    added since, by each later one) and removed when the last leaves."""
    global _log_depth
    with _log_lock:
        _log_depth += 1
        loggers = _stack_loggers()
        handlers = [h for logger in [*loggers, logging.root] for h in logger.handlers]
        for filterer in [*loggers, *handlers]:
            if _log_filter not in filterer.filters:
                filterer.addFilter(_log_filter)
                _filtered.append(filterer)
    try:
        yield
    finally:
        with _log_lock:
            _log_depth -= 1
            if _log_depth == 0:
                for filterer in _filtered:
                    filterer.removeFilter(_log_filter)
                _filtered.clear()


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
