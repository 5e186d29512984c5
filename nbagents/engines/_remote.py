"""What the HTTP engines share: credentials (and where they came from), the retry policy, URLs safe
to show, the mapping of HTTP and transport failures to nbagents errors, and structured output
(:class:`Structure`: what a constrained request sends and how its JSON answer becomes a program).

Nothing here talks to the network itself; the engines bring their client (httpx or the openai SDK)
and hand each attempt to :func:`call_with_retries`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from ..errors import (
    ConfigurationError,
    EngineAuthError,
    EngineConnectionError,
    EngineError,
    EngineResponseError,
    EngineTimeoutError,
    PromptTooLongError,
    RateLimitError,
)
from ..redaction import redact, register_secret

__all__ = [
    "Credential",
    "HTTPFailure",
    "Attempts",
    "RetryPolicy",
    "call_with_retries",
    "hf_credential",
    "env_credential",
    "safe_url",
    "server_message",
    "status_error",
    "stream_error",
    "cut_off",
    "transport_error",
    "parse_context_error",
    "retry_after_seconds",
    "sentence_case",
    "Structure",
    "StructureRejected",
    "check_structured",
    "structure_rejected",
]

log = logging.getLogger("nbagents.engines")
T = TypeVar("T")


# --- credentials -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """A token or key and where it came from (the value never shows in repr, messages or logs)."""

    value: str | None = field(repr=False)
    source: str

    def __post_init__(self) -> None:
        register_secret(self.value)

    @property
    def present(self) -> bool:
        return bool(self.value)


def _clean(token: str) -> str:
    token = token.strip()
    return token[7:].strip() if token.lower().startswith("bearer ") else token


def hf_credential(token: str | bool | None) -> Credential:
    """The Hugging Face token: the argument, ``HF_TOKEN``, or the ``huggingface_hub`` login.

    ``token=False`` sends none.
    """
    if token is False:
        return Credential(None, "none (token=False)")
    if isinstance(token, str) and token.strip():
        return Credential(_clean(token), "the token= argument")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = os.environ.get(name, "").strip()
        if value:
            return Credential(value, f"the {name} environment variable")
    try:
        import huggingface_hub
    except ImportError:
        return Credential(None, "none")
    try:
        value = huggingface_hub.get_token()  # env vars were checked above: this is the login
    except Exception:  # a broken token file must not break generation
        log.debug("huggingface_hub.get_token() failed", exc_info=True)
        value = None
    if value:
        return Credential(value, "the huggingface_hub login (hf auth login)")
    return Credential(None, "none")


def env_credential(value: str | None, *env_names: str, argument: str = "api_key") -> Credential:
    """A key from the argument, else from the first environment variable that is set."""
    if value:
        return Credential(_clean(value), f"the {argument}= argument")
    for name in env_names:
        found = os.environ.get(name, "").strip()
        if found:
            return Credential(found, f"the {name} environment variable")
    return Credential(None, "none")


# --- URLs and server messages -----------------------------------------------------------------


def safe_url(url: str) -> str:
    """``url`` without user info or query string (both may carry credentials)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.username or parts.password:
        register_secret(parts.password)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts._replace(query="", fragment=""))


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


# --- retries ---------------------------------------------------------------------------------


class HTTPFailure(Exception):
    """An attempt got a non-success HTTP status (raised inside :func:`call_with_retries`)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass
class Attempts:
    """What the retry loop did: retries made, seconds waited, statuses seen."""

    retries: int = 0
    waited: float = 0.0
    statuses: list[int] = field(default_factory=list)
    gave_up: str = ""


RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for 429, 503 (model loading) and other transient 5xx answers.

    ``Retry-After`` (or HF's ``estimated_time``) is honoured when the server gives it; otherwise the
    wait doubles from ``backoff`` up to ``max_backoff``. At most ``max_retries`` retries and
    ``max_wait`` seconds of waiting in all; a server that asks for more than is left is not waited for.
    """

    max_retries: int = 4
    max_wait: float = 60.0
    backoff: float = 0.5
    max_backoff: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def next_wait(self, failure: HTTPFailure, attempts: Attempts) -> float | None:
        """Seconds to wait before the next try, or ``None`` to give up (reason in ``attempts``)."""
        if failure.status not in RETRYABLE:
            return None
        if attempts.retries >= self.max_retries:
            attempts.gave_up = f"after {attempts.retries} retries"
            return None
        left = self.max_wait - attempts.waited
        if failure.retry_after is not None:
            if failure.retry_after > left:
                attempts.gave_up = (f"the server asked to wait {failure.retry_after:g} s, more than "
                                    f"the {max(left, 0):g} s left of max_wait")
                return None
            return failure.retry_after
        wait = min(self.max_backoff, self.backoff * 2 ** attempts.retries, left)
        if wait <= 0 and self.backoff > 0:
            attempts.gave_up = f"after waiting {attempts.waited:g} s (max_wait)"
            return None
        return max(wait, 0.0)


def call_with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    where: str,
    to_error: Callable[[HTTPFailure, Attempts], EngineError],
) -> tuple[T, Attempts]:
    """Run ``attempt`` until it returns, retrying :class:`HTTPFailure` as ``policy`` allows.

    A failure that is not retried (or that outlasts the policy) becomes ``to_error(failure,
    attempts)``. Anything else (transport errors, KeyboardInterrupt) propagates at once.
    """
    attempts = Attempts()
    while True:
        try:
            return attempt(), attempts
        except HTTPFailure as failure:
            attempts.statuses.append(failure.status)
            wait = policy.next_wait(failure, attempts)
            if wait is None:
                raise to_error(failure, attempts) from None
            log.info("HTTP %s from %s; retrying in %.2f s (retry %d of %d)", failure.status, where,
                     wait, attempts.retries + 1, policy.max_retries)
            if wait:
                policy.sleep(wait)
            attempts.retries += 1
            attempts.waited += wait


# --- error mapping ---------------------------------------------------------------------------

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


# --- structured output -----------------------------------------------------------------------

GRAMMAR_KINDS = ("json", "regex")


def check_structured(structured: Any, grammar_kind: str = "json") -> Any:
    """Validate the engines' ``structured=`` and ``grammar_kind=`` options."""
    if not (structured == "auto" or isinstance(structured, bool)):
        raise ConfigurationError(f"structured must be 'auto', True or False, not {structured!r}.")
    if grammar_kind not in GRAMMAR_KINDS:
        raise ConfigurationError(f"grammar_kind must be 'json' or 'regex', not {grammar_kind!r}.")
    return structured


class StructureRejected(Exception):
    """The server refused the structured-output parameter (raised inside an attempt, so that the
    engine can send the same request once more without it)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


# The servers' words for "I do not take that parameter" (or "not this schema"): TGI "grammar is not
# supported" / "grammar is not valid" / "cannot compile regex from schema" (422), OpenAI "Invalid
# parameter: 'response_format' of type 'json_schema' is not supported with this model" (400), Azure
# "response_format value as json_schema is enabled only for api versions ...", FastAPI/pydantic
# servers' 422 naming ["body", "response_format"], vLLM's guided decoding. Only looked at when the
# request carried a grammar.
_STRUCTURE_WORDS = re.compile(r"response_format|json_schema|grammar|\bschema\b|"
                              r"guided_(?:json|regex|grammar|decoding)|structured output", re.I)


def structure_rejected(status: int, message: str) -> bool:
    """Whether an error answer refuses the structured-output parameter (not the request)."""
    return status in (400, 422) and bool(_STRUCTURE_WORDS.search(message or ""))


_JSON_HINT = (
    'Answer with JSON only, in this shape: {{{explanation}"calls": [{{"tool": "<tool name>", "args": '
    '{{"<parameter>": <value>}}}}]}}. Each call\'s value becomes `result`. A value is a literal, or '
    '{{"ref": "<name>"}} to read an input, a variable or `result` (the previous call\'s value); '
    "null leaves an optional parameter out."
)
_FENCED = re.compile(r"```[ \t]*(?:json)?[ \t]*\n(.*?)\n?```\s*", re.S | re.I)


@dataclass(frozen=True)
class Structure:
    """One structured request: the :class:`~nbagents.constrain.ProgramSpec`, the grammar sent
    (``kind`` ``"json"``: a JSON schema; ``"regex"``: a regular expression over the program text),
    where it goes (``param``: ``"parameters.grammar"`` or ``"response_format"``) and its value."""

    spec: Any
    kind: str
    param: str
    value: Mapping[str, Any]
    hint: bool = True

    @classmethod
    def tgi(cls, spec: Any, kind: str, *, param: str, hint: bool = True) -> Structure:
        """TGI's ``{"type": "json" | "regex", "value": ...}`` (``parameters.grammar`` on the generate
        route, ``response_format`` on the Messages API)."""
        from ..grammar.remote import tgi_grammar

        return cls(spec, kind, param, tgi_grammar(spec, kind=kind), hint)

    @classmethod
    def openai(cls, spec: Any, *, hint: bool = True) -> Structure:
        """OpenAI's ``response_format={"type": "json_schema", "json_schema": {..., "strict": true}}``."""
        from ..grammar.remote import openai_response_format

        return cls(spec, "json", "response_format", openai_response_format(spec), hint)

    @property
    def grammar(self) -> str:
        """The schema (as JSON text) or the regex, for the Run's facts and the inspector."""
        if self.kind == "regex":
            return str(self.value.get("value", ""))
        schema = self.value.get("value") or (self.value.get("json_schema") or {}).get("schema")
        return json.dumps(schema, indent=1)

    def messages(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """The messages with one sentence about the JSON shape added to the last user message: the
        prompt asks for a ```py block, and a server like TGI does not show the schema to the model.
        (A regex describes the prompt's own shape: nothing is added.)"""
        if self.kind != "json" or not self.hint:
            return messages
        hint = _JSON_HINT.format(explanation='"explanation": "<one sentence>", ' if self.spec.explanation else "")
        out = [dict(m) for m in messages]
        for m in reversed(out):
            if m["role"] == "user":
                m["content"] = m["content"].rstrip() + "\n\n" + hint
                break
        return out

    def facts(self) -> dict[str, Any]:
        return {"constrained": True, "grammar_kind": self.kind, "grammar": self.grammar,
                "program_spec": self.spec.describe(), "structured_param": self.param,
                "structured_hint": self.kind == "json" and self.hint}

    def render(self, text: str) -> tuple[str, dict[str, Any]]:
        """The program text the agent's parser reads, from the server's answer, and facts.

        JSON that fits becomes ``explanation`` + a ```py block of ``result = tool(...)`` lines
        (:func:`~nbagents.constrain.remote.render_calls`). JSON that does not fit (a name that is
        not defined yet, a cut-off answer) comes back as the reason, then the JSON in a ```json
        block: no Python code, so the agent's parser raises its ParseError and the agent's one
        repair sends the reason back. Text that is not JSON at all (a server that ignored the
        parameter) is returned as it is, for the agent's lenient parser.
        """
        if self.kind == "regex":
            return text, {"structured_answer": "program"}
        candidate = _json_candidate(text)
        if candidate is None:
            return text, {"structured_answer": "free text"}
        from ..errors import ParseError
        from ..grammar.remote import render_calls

        try:
            program = render_calls(candidate, self.spec)
        except ParseError as e:
            reason = " ".join(e.message.split("\nThe model wrote:", 1)[0].split())
            shown = text.strip().replace("```", "` ` `")
            return (f"The model's JSON answer does not fit the toolbox: {reason}\n```json\n{shown}\n```",
                    {"structured_answer": "invalid", "structured_error": reason, "structured_raw": text})
        return program, {"structured_answer": "rendered", "structured_raw": text}


def _json_candidate(text: str) -> str | None:
    """The JSON object in an answer (bare, in a ```json fence, or after a sentence), else ``None``."""
    s = text.strip()
    m = _FENCED.fullmatch(s)
    if m:
        s = m.group(1).strip()
    if s.startswith("{"):
        return s
    if "```" in s:  # free text with a code block: the server ignored the parameter
        return None
    i = s.find('{"')
    if i < 0:
        return None
    try:
        found, end = json.JSONDecoder().raw_decode(s, i)
    except ValueError:
        return None
    return s[i:end] if isinstance(found, dict) and "calls" in found else None
