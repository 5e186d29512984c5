"""What the HTTP engines share: credentials (and where they came from), the retry policy, URLs safe
to show, server-sent events, the mapping of HTTP and transport failures to nbagents errors, and structured output
(:class:`Structure`: what a constrained request sends and how its JSON answer becomes a program).

Nothing here talks to the network itself; the engines bring their client (httpx or the openai SDK)
and hand each attempt to :func:`call_with_retries`. An HTTP engine for another protocol is one
module that builds its requests and reads its replies with these pieces.
"""

from __future__ import annotations

from .credentials import Credential, env_credential, hf_credential
from .engine import HTTPEngine
from .failures import (
    cut_off,
    parse_context_error,
    sentence_case,
    status_error,
    stream_error,
    transport_error,
)
from .messages import retry_after_seconds, safe_url, server_message
from .reply import Reply
from .retries import Attempts, HTTPFailure, RetryPolicy, call_with_retries
from .sse import sse_events
from .structured import Structure, StructureRejected, check_structured, structure_rejected

__all__ = [
    "Attempts",
    "Credential",
    "HTTPEngine",
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
    "sse_events",
    "status_error",
    "stream_error",
    "structure_rejected",
    "transport_error",
]
