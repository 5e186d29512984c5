"""HTTP and transport failures as typed nbagents errors, with the numbers and names involved."""

from __future__ import annotations

import re

from ...errors import (
    EngineAuthError,
    EngineConnectionError,
    EngineError,
    EngineResponseError,
    EngineTimeoutError,
    PromptTooLongError,
    RateLimitError,
)
from .credentials import Credential
from .retries import Attempts, HTTPFailure

_CONTEXT_PATTERNS = (
    # TGI: "`inputs` tokens + `max_new_tokens` must be <= 1512. Given: 1549 `inputs` tokens and 200 ..."
    re.compile(r"must be <= (?P<context>\d+)\. Given: (?P<prompt>\d+) `inputs` tokens and "
               r"(?P<new>\d+) `max_new_tokens`"),
    # OpenAI, vLLM: "maximum context length is 4097 tokens. However, you requested 5000 tokens
    # (4800 in the messages, 200 in the completion)"
    re.compile(r"maximum context length is (?P<context>\d+) tokens.*?\((?P<prompt>\d+) in the "
               r"messages, (?P<new>\d+) in the completion\)", re.S),
    # OpenAI: "maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens"
    re.compile(r"maximum context length is (?P<context>\d+) tokens.*?messages resulted in "
               r"(?P<prompt>\d+) tokens", re.S),
    # vLLM: "maximum context length is 2048 tokens and your request has 1600 input tokens"
    re.compile(r"maximum context length is (?P<context>\d+) tokens and your request has "
               r"(?P<prompt>\d+) input tokens"),
    # TGI: "`inputs` must have less than 1024 tokens. Given: 1500"
    re.compile(r"`inputs` must have less than (?P<input_limit>\d+) tokens\. Given: (?P<prompt>\d+)"),
)
_CONTEXT_WORDS = re.compile(r"context length|context_length_exceeded|context window|maximum context|"
                            r"exceeds the available context|too many tokens|prompt is too long", re.I)


def parse_context_error(message: str, max_new_tokens: int) -> tuple[int, int, int] | None:
    """``(prompt_tokens, max_new_tokens, context_length)`` from a server's "prompt too long" words."""
    for pattern in _CONTEXT_PATTERNS:
        m = pattern.search(message)
        if not m:
            continue
        found = m.groupdict()
        prompt = int(found["prompt"])
        new = int(found["new"]) if found.get("new") else max_new_tokens
        if found.get("input_limit"):  # an input-only limit: express it as a total for this request
            return prompt, new, int(found["input_limit"]) - 1 + new
        return prompt, new, int(found["context"])
    return None


def status_error(
    failure: HTTPFailure,
    attempts: Attempts,
    *,
    server: str,
    credential: Credential,
    credential_help: str,
    max_new_tokens: int,
    prompt_estimate: int | None = None,
    context_length: int | None = None,
) -> EngineError:
    """The nbagents error for an HTTP error answer from ``server`` ("the server at <safe URL>")."""
    status, message = failure.status, failure.message
    subject = sentence_case(server)
    said = f": {message}" if message else "."
    if status in (401, 403):
        what = "refused the credentials" if status == 401 else "refused access"
        sent = (f"The credentials sent came from {credential.source}." if credential.present
                else "No token or key was sent (none was found).")
        return EngineAuthError(f"{subject} {what} (HTTP {status}){said}",
                               hint=f"{sent} {credential_help}")
    if status in (400, 413, 422):
        numbers = parse_context_error(message, max_new_tokens)
        if numbers is None and _CONTEXT_WORDS.search(message) and context_length:
            numbers = (prompt_estimate or context_length, max_new_tokens, context_length)
        if numbers is not None and numbers[0] + numbers[1] > numbers[2]:
            error = PromptTooLongError(*numbers)
            error.message += f" {subject} said{said}"
            return error
    if status in (429, 503):
        why = attempts.gave_up or f"after {attempts.retries} retries"
        return RateLimitError(
            f"{subject} answered HTTP {status} ({why}; waited {attempts.waited:.1f} s in all){said}",
            status=status,
            hint="The server is rate-limiting or still loading the model: try again in a minute, or "
                 "raise max_retries / max_wait.",
        )
    if status == 404:
        hint = "Check the URL and the model name; the server has no such route or model."
    elif status >= 500:
        hint = "The server failed; it may recover if you try again. Its logs say more."
    else:
        hint = "The server rejected the request; its message above says why."
    retried = f" after {attempts.retries} retries" if attempts.retries else ""
    return EngineResponseError(f"{subject} answered HTTP {status}{retried}{said}", status=status,
                               hint=hint)


def stream_error(server: str, message: str, max_new_tokens: int) -> EngineError:
    """An error the server reported inside a stream (TGI sends validation errors this way)."""
    numbers = parse_context_error(message, max_new_tokens)
    if numbers is not None:
        error = PromptTooLongError(*numbers)
        error.message += f" {sentence_case(server)} said: {message}"
        return error
    return EngineResponseError(f"{sentence_case(server)} reported an error in the stream: {message}",
                               hint="The generation failed on the server; its logs say more.")


def cut_off(server: str, pieces: int, missing: str) -> EngineResponseError:
    """A stream that ended cleanly but without its end marker."""
    return EngineResponseError(
        f"{sentence_case(server)} ended the stream before generation finished ({missing} after "
        f"{pieces} pieces): the reply was cut off.",
        hint="The server or a proxy ended the stream early; try again.")


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def transport_error(exc: BaseException, *, server: str, connect_timeout: float,
                    read_timeout: float) -> EngineError | None:
    """Map an httpx-family transport exception (httpx, or the httpx2 the openai SDK uses, which
    share class names) to an nbagents error; ``None`` if ``exc`` is not one."""
    seen: set[str] = set()
    e: BaseException | None = exc
    while e is not None:  # look through the SDK's wrappers (APIConnectionError from ConnectError)
        seen |= _names(e)
        e = e.__cause__
    if "ConnectTimeout" in seen or "PoolTimeout" in seen:
        return EngineTimeoutError(
            f"Could not connect to {server} within {connect_timeout:g} s (connect timeout).",
            hint="Check that the server is up and reachable from this machine (VPN, firewall, proxy), "
                 "or raise connect_timeout.")
    if seen & {"ReadTimeout", "WriteTimeout", "TimeoutException", "APITimeoutError"}:
        return EngineTimeoutError(
            f"{sentence_case(server)} did not answer within {read_timeout:g} s (read timeout).",
            hint="The server is slow or stuck: lower max_new_tokens, try again, or raise read_timeout.")
    if "ConnectError" in seen or "ConnectionRefusedError" in seen:
        return EngineConnectionError(
            f"Could not connect to {server}: the connection was refused or the host is unknown.",
            hint="Check the URL (scheme, host and port), that the server is running, and any proxy "
                 "settings (HTTP_PROXY / NO_PROXY).")
    if seen & {"RemoteProtocolError", "ReadError", "IncompleteRead", "DecodingError"}:
        return EngineResponseError(
            f"The connection to {server} closed before the reply was complete (the reply was cut "
            "off mid-way).",
            hint="The server or a proxy dropped the connection; try again, and check the server's "
                 "logs if it keeps happening.")
    if seen & {"TransportError", "APIConnectionError", "NetworkError", "ProtocolError"}:
        return EngineConnectionError(
            f"The connection to {server} failed ({type(exc).__name__}).",
            hint="Check the URL, the network and any proxy settings.")
    return None
