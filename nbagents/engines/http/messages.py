"""URLs safe to show, the servers' error messages, and ``Retry-After``."""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ...redaction import redact, register_secret


def safe_url(url: str) -> str:
    """``url`` without user info or query string (both may carry credentials)."""
    try:
        parts = urlsplit(split_userinfo(url)[0])
    except ValueError:
        return redact(url)
    return urlunsplit(parts._replace(query="", fragment=""))


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://user:pw@host`` → (``http://host``, basic auth): no password in logged URLs (the
    password is registered as a secret, so it is redacted wherever it shows)."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url, None
    register_secret(parts.password)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=netloc)), (unquote(parts.username or ""),
                                                       unquote(parts.password or ""))


def server_message(body: Any, *, limit: int = 500) -> str:
    """The human part of an error body: TGI ``{"error": "..."}``, OpenAI ``{"error": {"message"}}``,
    FastAPI ``{"detail": ...}``, or the text itself; redacted and shortened."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            pass
    message: Any = body
    if isinstance(body, Mapping):
        message = body.get("error") or body.get("message") or body.get("detail") or body
        if isinstance(message, Mapping):
            message = message.get("message") or message
    if not isinstance(message, str):
        message = json.dumps(message, default=str) if message is not None else ""
    message = re.sub(r"\s+", " ", message).strip()
    if len(message) > limit:
        message = message[:limit] + "…"
    return redact(message)


def retry_after_seconds(headers: Mapping[str, str] | None, body: Any = None) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After`` (seconds or HTTP date),
    ``retry-after-ms``, or HF's ``estimated_time`` while a model loads."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            seconds = float(value)
            return max(0.0, seconds) if math.isfinite(seconds) else None
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if isinstance(body, Mapping) and isinstance(body.get("estimated_time"), (int, float)):
        return max(0.0, float(body["estimated_time"]))
    return None
