"""Loopback fake inference servers for the remote engine tests.

:class:`FakeServer` speaks, on ``127.0.0.1`` only, the routes the remote engines use:

* TGI: ``GET /info``, ``POST /generate``, ``POST /generate_stream`` (SSE), ``POST /`` (the
  compat route: ``"stream": true`` in the body picks SSE) and the Messages API
  ``POST /v1/chat/completions`` (streaming too).
* OpenAI: ``POST /v1/chat/completions``, ``POST /v1/completions`` (both may stream), and Azure's
  ``POST /openai/deployments/<deployment>/{chat/completions,completions}?api-version=...``.

Faults are scripted per request: :meth:`FakeServer.push` queues :class:`Fault` objects, and each
generation request takes the next one (none queued: a normal reply). Every request is recorded
(method, path, query, headers, JSON body) so tests can count retries and read what was sent.

Structured output: a request carrying TGI's ``parameters.grammar`` / ``response_format``
(``{"type": "json" | "regex", "value": ...}``) or OpenAI's ``response_format`` (``{"type":
"json_schema", ...}``) is answered according to ``structured``: ``"honour"`` replies with
``structured_reply`` (when one is scripted; else with ``reply``) and checks that it fits the grammar sent (the JSON schema with jsonschema, the
regex with ``re.fullmatch``), as a real constrained server would guarantee; ``"ignore"`` replies with
the free-text ``reply`` (servers that drop unknown fields); ``"reject"`` answers ``rejection``, by
default the real server's words (TGI's 422 "grammar is not supported", OpenAI's 400 for
``json_schema``, Azure's 400 for an old api-version). ``Recorded.structure`` is what was sent.

Replies are deterministic: ``reply`` (a string, or a function of the request body) is sent in
chunks of ``chunk_size`` characters. Unless ``ignore_stop`` is set the server ends the reply at the
first stop sequence it was sent (TGI keeps the stop sequence in the text, OpenAI drops it, as the
real servers do). Responses use HTTP/1.1 with ``Content-Length`` or chunked transfer encoding, so
a stream cut mid-way looks to the client exactly like a real dropped connection.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FakeServer",
    "Fault",
    "Recorded",
    "TGI_TOO_LONG",
    "OPENAI_TOO_LONG",
    "closed_port",
    "unanswered_port",
    "rate_limited",
    "loading",
    "server_error",
    "unauthorized",
    "too_long",
    "malformed_json",
    "truncated_json",
    "cut_stream",
    "unfinished_stream",
    "stream_error",
    "slow",
    "TGI_GRAMMAR_UNSUPPORTED",
    "OPENAI_JSON_SCHEMA_UNSUPPORTED",
    "AZURE_JSON_SCHEMA_OLD_API",
    "grammar_unsupported",
    "json_schema_unsupported",
    "azure_json_schema_unsupported",
    "unknown_field",
]

# The real servers' wording (TGI's validation error and OpenAI's context-length error).
TGI_TOO_LONG = (
    "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 1512. "
    "Given: 1549 `inputs` tokens and 200 `max_new_tokens`"
)
OPENAI_TOO_LONG = (
    "This model's maximum context length is 4097 tokens. However, you requested 5000 tokens "
    "(4800 in the messages, 200 in the completion). Please reduce the length of the messages "
    "or completion."
)

# The real servers' words when they do not take structured output.
TGI_GRAMMAR_UNSUPPORTED = "Input validation error: grammar is not supported"  # --disable-grammar-support
OPENAI_JSON_SCHEMA_UNSUPPORTED = (
    "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model. "
    "Learn more about supported models at the Structured Outputs guide: "
    "https://platform.openai.com/docs/guides/structured-outputs"
)
AZURE_JSON_SCHEMA_OLD_API = (
    "response_format value as json_schema is enabled only for api versions 2024-08-01-preview and later"
)


@dataclass
class Fault:
    """What the server does instead of a normal reply to one generation request.

    status, body, headers:
        Answer with this status and body (a dict is sent as JSON, a str as text).
    delay:
        Seconds to wait before answering (to trigger read timeouts).
    malformed:
        Answer 200 with a body that is not JSON (or, in a stream, an event that is not JSON).
    truncated:
        Answer 200 with ``Content-Length`` larger than the body sent, then close the connection.
    cut_after:
        Stream this many events, then drop the connection without ending the chunked body.
    unfinished_after:
        Stream this many events, then end the body cleanly without the final event / ``[DONE]``.
    stream_error:
        Answer 200 and send this error as an SSE event (TGI reports validation errors this way).
    echo_token:
        Put the credentials the client sent into the error message (a careless server).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    malformed: bool = False
    truncated: bool = False
    cut_after: int | None = None
    unfinished_after: int | None = None
    stream_error: str | None = None
    echo_token: bool = False


def rate_limited(retry_after: str | None = "0", *, status: int = 429) -> Fault:
    """429 Too Many Requests (or 503 with ``status=503``) with an optional ``Retry-After``."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    message = "Rate limit reached for requests" if status == 429 else "Service Unavailable"
    return Fault(status=status, headers=headers, body={"error": message})


def loading(estimated_time: float = 0.0) -> Fault:
    """HF serverless 503 while the model loads: the wait is in the body, not in a header."""
    return Fault(status=503, body={"error": "Model fake/model is currently loading",
                                   "estimated_time": estimated_time})


def server_error(status: int = 500, message: str = "CUDA out of memory (worker 3)") -> Fault:
    return Fault(status=status, body={"error": message, "error_type": "generation"})


def unauthorized(status: int = 401, *, echo_token: bool = False) -> Fault:
    return Fault(status=status, echo_token=echo_token)


def too_long(protocol: str = "tgi") -> Fault:
    """The prompt does not fit: TGI answers 422, OpenAI 400, each in its own words."""
    if protocol == "tgi":
        return Fault(status=422, body={"error": TGI_TOO_LONG, "error_type": "validation"})
    return Fault(status=400, body={"error": {"message": OPENAI_TOO_LONG, "type": "invalid_request_error",
                                             "param": "messages", "code": "context_length_exceeded"}})


def malformed_json() -> Fault:
    return Fault(malformed=True)


def truncated_json() -> Fault:
    return Fault(truncated=True)


def cut_stream(after: int = 2) -> Fault:
    return Fault(cut_after=after)


def unfinished_stream(after: int = 2) -> Fault:
    return Fault(unfinished_after=after)


def stream_error(message: str = TGI_TOO_LONG) -> Fault:
    return Fault(stream_error=message)


def slow(delay: float) -> Fault:
    return Fault(delay=delay)


def grammar_unsupported() -> Fault:
    """TGI started with ``--disable-grammar-support``: 422 on /generate and on the Messages API."""
    return Fault(status=422, body={"error": TGI_GRAMMAR_UNSUPPORTED, "error_type": "validation"})


def json_schema_unsupported() -> Fault:
    """OpenAI, for a model without structured outputs."""
    return Fault(status=400, body={"error": {"message": OPENAI_JSON_SCHEMA_UNSUPPORTED,
                                             "type": "invalid_request_error", "param": "response_format",
                                             "code": None}})


def azure_json_schema_unsupported() -> Fault:
    """Azure OpenAI with an api-version older than 2024-08-01-preview."""
    return Fault(status=400, body={"error": {"code": "BadRequest", "message": AZURE_JSON_SCHEMA_OLD_API}})


def unknown_field(name: str = "response_format") -> Fault:
    """A strict (pydantic / FastAPI) server that forbids fields it does not know."""
    return Fault(status=422, body={"detail": [{"type": "extra_forbidden", "loc": ["body", name],
                                               "msg": "Extra inputs are not permitted"}]})


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def structure(self) -> dict | None:
        """The grammar or ``response_format`` the request carried, or ``None``."""
        return structure_of(self.json)


def structure_of(body: Any) -> dict | None:
    if not isinstance(body, dict):
        return None
    params = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    found = params.get("grammar") or body.get("response_format")
    return found if isinstance(found, dict) else None


def grammar_check(structure: dict, text: str) -> str | None:
    """Why ``text`` does not fit the grammar sent (``None`` when it fits)."""
    kind = structure.get("type")
    if kind == "regex":
        return None if re.fullmatch(structure.get("value") or "", text) else "it does not match the regex"
    if kind in ("json", "json_object", "json_schema"):
        schema = structure.get("value") if kind != "json_schema" else (
            structure.get("json_schema") or {}).get("schema")
        try:
            value = json.loads(text)
        except ValueError as e:
            return f"it is not JSON ({e})"
        try:
            import jsonschema
        except ImportError:  # the JSON parses: good enough without a validator
            return None
        try:
            jsonschema.validate(value, schema or {})
        except jsonschema.ValidationError as e:
            return f"it does not fit the schema ({e.message})"
        return None
    return f"unknown grammar type {kind!r}"


def server_message_of(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        return error.get("message", "") if isinstance(error, dict) else str(error or "")
    return str(body or "")


def closed_port() -> int:
    """A loopback port with nothing listening (for refused connections)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def unanswered_port(fill: int = 3) -> Iterator[int]:
    """A loopback port whose accept queue is full, so new connections hang (connect timeouts)."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(fill):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(s)
        time.sleep(0.05)
        yield port
    finally:
        for s in fillers:
            s.close()
        listener.close()


class _Disconnected(Exception):
    pass


class _BadScript(Exception):
    """The test scripted a structured reply that the grammar it sent does not allow."""


class FakeServer:
    """A fake TGI + OpenAI server on 127.0.0.1 (a context manager; ``url`` is its base URL).

    Parameters
    ----------
    reply:
        What the model "generates": a string or a function of the request body.
    info:
        The ``GET /info`` document; ``None`` makes ``/info`` a 404 (not a TGI server).
    chat:
        Whether ``/v1/chat/completions`` exists (old TGI versions have no Messages API).
    chat_template:
        ``False`` makes the chat route answer TGI's 422 "template not found".
    ignore_stop:
        Generate past stop sequences (a server that ignores ``stop``).
    chunk_size, chunk_delay:
        Characters per streamed event and seconds between events.
    api_key:
        If set, requests must carry it (``Authorization: Bearer`` or Azure's ``api-key``).
    structured:
        What a request with a grammar / ``response_format`` gets: ``"honour"``, ``"ignore"`` or
        ``"reject"`` (see the module docs).
    structured_reply:
        What the model "generates" under a grammar (a string or a function of the request body);
        ``None``: ``reply``, unchecked (a model that wrote the prompt's free format).
    check_structured:
        In ``"honour"`` mode, refuse (HTTP 500, naming the test's mistake) a scripted reply that a
        real constrained server could not have produced.
    rejection:
        The answer in ``"reject"`` mode; default: the protocol's real words.
    echo_auth:
        Echo the credentials the client sent in every answer's headers (``X-Echo-Authorization``,
        ``Authorization`` and ``api-key``, as a careless proxy does).
    """

    def __init__(
        self,
        reply: str | Callable[[dict], str] = "I will add the numbers.\n```py\nresult = 1 + 2\n```",
        *,
        info: dict | None = None,
        chat: bool = True,
        chat_template: bool = True,
        ignore_stop: bool = False,
        chunk_size: int = 4,
        chunk_delay: float = 0.0,
        api_key: str | None = None,
        model_id: str = "fake/model",
        structured: str = "honour",
        structured_reply: str | Callable[[dict], str] | None = None,
        check_structured: bool = True,
        rejection: Fault | None = None,
        echo_auth: bool = False,
    ) -> None:
        self.echo_auth = echo_auth
        if structured not in ("honour", "ignore", "reject"):
            raise ValueError(f"structured must be 'honour', 'ignore' or 'reject', not {structured!r}")
        self.structured = structured
        self.structured_reply = structured_reply
        self.check_structured = check_structured
        self.rejection = rejection
        self.reply = reply
        self.info = info
        self.chat = chat
        self.chat_template = chat_template
        self.ignore_stop = ignore_stop
        self.chunk_size = chunk_size
        self.chunk_delay = chunk_delay
        self.api_key = api_key
        self.model_id = model_id
        self.requests: list[Recorded] = []
        self.faults: deque[Fault] = deque()
        self.disconnects = 0  # streams the client closed before the server finished
        self.events_sent = 0
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push(self, *faults: Fault) -> FakeServer:
        """Queue faults; each generation request takes the next one."""
        self.faults.extend(faults)
        return self

    def generation_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def structures(self) -> list[dict | None]:
        """What each generation request carried as grammar / response_format (``None``: nothing)."""
        return [r.structure for r in self.generation_requests()]

    @property
    def last(self) -> Recorded:
        return self.generation_requests()[-1]

    def wait_for_disconnect(self, timeout: float = 3.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.disconnects:
                return True
            time.sleep(0.01)
        return bool(self.disconnects)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- replies -------------------------------------------------------------------------------

    def text_for(self, body: dict, *, keep_stop: bool) -> tuple[str, str]:
        """The reply text for a request and its finish reason, honouring ``stop`` unless told not to."""
        reply = self.reply
        structure = structure_of(body)
        if structure is not None and self.structured == "honour" and self.structured_reply is not None:
            reply = self.structured_reply
        text = reply(body) if callable(reply) else reply
        if reply is self.structured_reply and self.check_structured:
            why = grammar_check(structure, text)
            if why is not None:
                raise _BadScript(f"fake server: the scripted reply could not come from a server "
                                 f"honouring the grammar: {why}: {text[:200]!r}")
        stop = body.get("stop") or (body.get("parameters") or {}).get("stop") or []
        if isinstance(stop, str):
            stop = [stop]
        if not self.ignore_stop:
            hits = [(text.find(s), s) for s in stop if s and s in text]
            if hits:
                i, s = min(hits)
                return (text[: i + len(s)] if keep_stop else text[:i]), "stop"
        return text, "eos"

    def pieces(self, text: str) -> list[str]:
        n = max(1, self.chunk_size)
        return [text[i : i + n] for i in range(0, len(text), n)] or [""]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (the engines do, on purpose) are not errors here


def _make_handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # --- plumbing ------------------------------------------------------------------------------

    def _record(self) -> tuple[str, dict, Any]:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        query = parse_qs(parts.query)
        rec = Recorded(self.command, parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body)
        with self.fake._lock:
            self.fake.requests.append(rec)
        return parts.path, query, body

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else (
            json.dumps(body).encode() if not isinstance(body, str) else body.encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in {**(headers or {}), **self._echo()}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _echo(self) -> dict[str, str]:
        if not self.fake.echo_auth:
            return {}
        sent = {"X-Echo-Authorization": self.headers.get("Authorization"),
                "Authorization": self.headers.get("Authorization"), "api-key": self.headers.get("api-key")}
        return {k: v for k, v in sent.items() if v}

    def _start_stream(self, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in {**(headers or {}), **self._echo()}.items():
            self.send_header(k, v)
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as e:
            with self.fake._lock:
                self.fake.disconnects += 1
            raise _Disconnected from e

    def _event(self, payload: Any, *, event: str | None = None) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        prefix = f"event: {event}\n" if event else ""
        self._chunk(f"{prefix}data: {data}\n\n".encode())
        with self.fake._lock:
            self.fake.events_sent += 1
        if self.fake.chunk_delay:
            time.sleep(self.fake.chunk_delay)

    def _end_stream(self) -> None:
        self._chunk(b"")  # the zero-length chunk ends the body

    def _drop(self) -> None:
        """Close the connection abruptly."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- routing -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path, _, _ = self._record()
        if path == "/info" and self.fake.info is not None:
            return self._send(200, self.fake.info)
        if path in ("/v1/models", "/models"):
            return self._send(200, {"object": "list", "data": [{"id": self.fake.model_id, "object": "model"}]})
        self._send(404, {"error": f"Not Found: {path}"})

    def do_POST(self) -> None:
        path, query, body = self._record()
        body = body if isinstance(body, dict) else {}
        route = self._route(path, query)
        if route is None:
            return self._send(404, {"error": {"message": "Resource not found", "code": "404"}}
                              if path.startswith("/openai/") else {"error": f"Not Found: {path}"})
        protocol = "openai" if route in ("chat", "completions") else "tgi"
        if self.fake.api_key is not None and not self._authorized():
            return self._unauthorized(401, protocol)
        fault = self.fake.faults.popleft() if self.fake.faults else None
        stream = route == "generate_stream" or bool(body.get("stream"))
        try:
            if fault is not None and self._fault(fault, protocol, stream):
                return
            if route == "chat" and not self.fake.chat:
                return self._send(404, {"error": f"Not Found: {path}"})
            if route == "chat" and not self.fake.chat_template:
                return self._send(422, {"error": "Template error: template not found",
                                        "error_type": "template_error"})
            if structure_of(body) is not None and self.fake.structured == "reject":
                return self._reject_structure(path, structure_of(body))
            handler = {"generate": self._tgi, "generate_stream": self._tgi, "compat": self._tgi,
                       "chat": self._openai, "completions": self._openai}[route]
            handler(route, body, stream, fault)
        except _Disconnected:
            self.close_connection = True
        except _BadScript as e:
            self._send(500, {"error": str(e)})

    def _reject_structure(self, path: str, structure: dict) -> None:
        fault = self.fake.rejection
        if fault is None:
            if path.startswith("/openai/"):
                fault = azure_json_schema_unsupported()
            elif structure.get("type") == "json_schema":
                fault = json_schema_unsupported()
            else:  # TGI's form, {"type": "json" | "regex", "value": ...}, on any of its routes
                fault = grammar_unsupported()
        self._send(fault.status, fault.body, fault.headers)

    def _route(self, path: str, query: dict) -> str | None:
        if path in ("/generate", "/generate_stream"):
            return path[1:]
        if path == "/":
            return "compat"
        if path in ("/v1/chat/completions", "/chat/completions"):
            return "chat"
        if path in ("/v1/completions", "/completions"):
            return "completions"
        m = re.fullmatch(r"/openai/deployments/[^/]+/(chat/completions|completions)", path)
        if m and query.get("api-version"):
            return "chat" if m.group(1) == "chat/completions" else "completions"
        return None

    def _credentials(self) -> str:
        auth = self.headers.get("Authorization") or ""
        return auth.removeprefix("Bearer ").strip() or (self.headers.get("api-key") or "")

    def _authorized(self) -> bool:
        return self._credentials() == self.fake.api_key

    def _unauthorized(self, status: int, protocol: str, *, echo: bool = False) -> None:
        shown = self._credentials() if echo else "***"
        if protocol == "openai":
            body = {"error": {"message": f"Incorrect API key provided: {shown}. You can find your API "
                                         "key at https://platform.openai.com/account/api-keys.",
                              "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
        else:
            body = {"error": f"Invalid credentials in Authorization header ({shown})"}
        self._send(status, body)

    def _fault(self, fault: Fault, protocol: str, stream: bool) -> bool:
        """Act out a fault; True when the request has been answered."""
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status in (401, 403):
            self._unauthorized(fault.status, protocol, echo=fault.echo_token)
            return True
        if fault.status != 200:
            body = fault.body
            if fault.echo_token:  # a careless server that quotes the credentials back
                body = {"error": f"{server_message_of(body)} (credentials: {self._credentials()})"}
            if protocol == "openai" and isinstance(body, dict) and isinstance(body.get("error"), str):
                body = {"error": {"message": body["error"], "type": "server_error", "code": None}}
            self._send(fault.status, body if body is not None else {"error": "error"}, fault.headers)
            return True
        if fault.malformed and not stream:  # (in a stream: one malformed event, below)
            self._send(200, '{"generated_text": "result = 1" "choices": [}')
            return True
        if fault.truncated:
            data = b'{"generated_text": "result = 1 + 2\\n", "details": {"finish_'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) + 40))
            self.end_headers()
            self.wfile.write(data)
            self._drop()
            return True
        if fault.stream_error is not None:
            self._start_stream()
            if protocol == "openai":
                self._event({"error": {"message": fault.stream_error, "type": "invalid_request_error"}})
            else:
                self._event({"error": fault.stream_error, "error_type": "validation"})
            self._end_stream()
            return True
        return False  # cut_after / unfinished_after act inside the stream

    @staticmethod
    def _stream_limit(fault: Fault | None) -> tuple[int | None, bool]:
        if fault is None:
            return None, False
        if fault.cut_after is not None:
            return fault.cut_after, True
        if fault.unfinished_after is not None:
            return fault.unfinished_after, False
        return None, False

    # --- TGI -----------------------------------------------------------------------------------

    def _tgi(self, route: str, body: dict, stream: bool, fault: Fault | None) -> None:
        if not isinstance(body.get("inputs"), str):
            return self._send(422, {"error": "Failed to deserialize the JSON body: missing field `inputs`",
                                    "error_type": "validation"})
        params = body.get("parameters") or {}
        text, reason = self.fake.text_for(body, keep_stop=True)
        pieces = self.fake.pieces(text)
        finish = "stop_sequence" if reason == "stop" else "eos_token"
        prompt_tokens = len(body["inputs"].split())
        details = {"finish_reason": finish, "generated_tokens": len(pieces), "seed": None}
        headers = {"x-prompt-tokens": str(prompt_tokens), "x-generated-tokens": str(len(pieces))}
        if not stream:
            out: dict[str, Any] = {"generated_text": text}
            if params.get("details"):
                out["details"] = {**details, "prefill": [], "tokens": []}
            return self._send(200, [out] if route == "compat" else out, headers)
        limit, cut = self._stream_limit(fault)
        self._start_stream(headers)
        for i, piece in enumerate(pieces):
            if limit is not None and i >= limit:
                return self._drop() if cut else self._end_stream()
            if fault is not None and fault.malformed:
                self._event('{"token": {"text": "broken')
                return self._end_stream()
            last = i == len(pieces) - 1
            self._event({"index": i + 1, "token": {"id": i, "text": piece, "logprob": -0.5, "special": False},
                         "generated_text": text if last else None,
                         "details": details if last else None})
        self._end_stream()

    # --- OpenAI --------------------------------------------------------------------------------

    def _openai(self, route: str, body: dict, stream: bool, fault: Fault | None) -> None:
        if route == "chat":
            messages = body.get("messages")
            if not isinstance(messages, list):
                return self._send(400, {"error": {"message": "'messages' is a required property",
                                                  "type": "invalid_request_error"}})
            prompt = "\n".join(str(m.get("content", "")) for m in messages)
        else:
            prompt = body.get("prompt") if isinstance(body.get("prompt"), str) else ""
        text, reason = self.fake.text_for(body, keep_stop=False)
        reason = "stop"
        pieces = self.fake.pieces(text)
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(pieces),
                 "total_tokens": len(prompt.split()) + len(pieces)}
        model = body.get("model") or self.fake.model_id
        common = {"id": "cmpl-1", "created": 1700000000, "model": model}
        if not stream:
            if route == "chat":
                choice = {"index": 0, "message": {"role": "assistant", "content": text},
                          "finish_reason": reason, "logprobs": None}
                out = {**common, "object": "chat.completion", "choices": [choice], "usage": usage}
            else:
                out = {**common, "object": "text_completion", "usage": usage,
                       "choices": [{"index": 0, "text": text, "finish_reason": reason, "logprobs": None}]}
            return self._send(200, out)
        limit, cut = self._stream_limit(fault)
        self._start_stream()
        obj = "chat.completion.chunk" if route == "chat" else "text_completion"
        for i, piece in enumerate(pieces):
            if limit is not None and i >= limit:
                return self._drop() if cut else self._end_stream()
            if fault is not None and fault.malformed:
                self._event('{"choices": [{"delta": ')
                return self._end_stream()
            if route == "chat":
                delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                choice = {"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}
            else:
                choice = {"index": 0, "text": piece, "finish_reason": None, "logprobs": None}
            self._event({**common, "object": obj, "choices": [choice]})
        final = ({"index": 0, "delta": {}, "finish_reason": reason, "logprobs": None} if route == "chat"
                 else {"index": 0, "text": "", "finish_reason": reason, "logprobs": None})
        self._event({**common, "object": obj, "choices": [final]})
        if (body.get("stream_options") or {}).get("include_usage"):
            self._event({**common, "object": obj, "choices": [], "usage": usage})
        self._event("[DONE]")
        self._end_stream()
