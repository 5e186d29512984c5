"""What the HTTP engines share: :class:`HTTPEngine`, the base that runs one request's lifecycle
(retries, error mapping, the structured-output fallback, the facts), and the pieces it is built of:
credentials (and where they came from), the retry policy, URLs safe to show, server-sent events,
the mapping of HTTP and transport failures to nbagents errors, structured output
(:class:`Structure`: what a constrained request sends and how its JSON answer becomes a program)
and :class:`Reply` (what a protocol module reads from an answer).

Nothing here talks to the network itself: an engine brings its client (httpx or the openai SDK),
builds each request and hands the attempt and a reader of its answer to :meth:`HTTPEngine._send`.
An HTTP engine for another protocol is an :class:`HTTPEngine` subclass plus a protocol module of
request bodies and reply readers (as :mod:`nbagents.engines.endpoint` and :mod:`nbagents.engines.tgi`).
"""

from __future__ import annotations

from .credentials import Credential, env_credential, hf_credential
from .engine import IGNORED, HTTPEngine
from .failures import (
    cut_off,
    parse_context_error,
    sentence_case,
    status_error,
    stream_error,
    transport_error,
)
from .messages import retry_after_seconds, safe_url, server_message, split_userinfo
from .reply import Reply
from .retries import Attempts, HTTPFailure, RetryPolicy, call_with_retries
from .sse import sse_events
from .structured import Structure, StructureRejected, check_structured, structure_rejected

__all__ = [
    "Attempts",
    "Credential",
    "HTTPEngine",
    "IGNORED",
    "HTTPFailure",
    "Reply",
    "RetryPolicy",
    "Structure",
    "StructureRejected",
    "call_with_retries",
    "check_structured",
    "cut_off",
    "env_credential",
    "hf_credential",
    "parse_context_error",
    "retry_after_seconds",
    "safe_url",
    "sentence_case",
    "server_message",
    "split_userinfo",
    "sse_events",
    "status_error",
    "stream_error",
    "structure_rejected",
    "transport_error",
]
