"""Hugging Face inference endpoints and TGI servers: ``endpoint:<url or model id>``.

Built on httpx (the ``remote`` extra): one pooled client per engine, separate connect and read
timeouts, streaming through ``client.send(..., stream=True)`` so that stopping early or a
KeyboardInterrupt closes the connection at once. The wire format (request bodies, whole and
streamed replies) is :mod:`nbagents.engines.tgi`; retries and error mapping are shared with the
OpenAI engines (:mod:`nbagents.engines.http`). This module holds the configuration, the ``/info``
probe, the choice of route and of structured output, and the generate flow.

Two routes:

* ``"generate"``: TGI's text-generation API (``/generate``, ``/generate_stream``, or the endpoint
  URL itself for Inference Endpoints and the serverless API), as Transformers' HfAgent used it:
  ``max_new_tokens``, ``stop``, ``return_full_text=False``, ``do_sample=False``.
* ``"chat"``: the Messages API (``/v1/chat/completions``), where the server applies the model's
  chat template.

``route="auto"`` asks ``GET /info``: a TGI server (1.4 or newer) gets the chat route, falling back
to ``generate`` once if the server has no chat route or the model no chat template; a server
without ``/info`` gets ``generate``; a bare model id (the serverless API) gets ``chat``.

Structured output (``generate(..., constraint=...)`` with a constraint the engine
:meth:`~EndpointEngine.accepts`: a :class:`~nbagents.grammar.ProgramSpec` or a
:class:`~nbagents.grammar.JsonSchema`; not a Lark grammar): TGI's grammar, ``{"type": "json" | "regex", "value": ...}``, goes in
``parameters.grammar`` on the generate route and in ``response_format`` on the Messages API.
``structured="auto"`` turns it on for TGI 1.4.3 or newer on the generate route (where TGI added
grammars) and 2.2 or newer on the chat route (``response_format`` came to the Messages API later);
a server that refuses it (TGI started with ``--disable-grammar-support`` answers 422 "grammar is not
supported") gets the same request once more without it, and the engine remembers.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from ..deps import require
from ..errors import ConfigurationError
from ..redaction import redacted_http_logs
from . import tgi
from .base import Completion, flatten_messages
from .http import (
    HTTPEngine,
    HTTPFailure,
    Reply,
    Structure,
    StructureRejected,
    hf_credential,
    retry_after_seconds,
    safe_url,
    server_message,
    split_userinfo,
    structure_rejected,
    transport_error,
)

__all__ = ["EndpointEngine", "SERVERLESS_URL"]

log = logging.getLogger("nbagents.engines")

#: Where a bare model id is served (Hugging Face's serverless inference, the hf-inference provider).
SERVERLESS_URL = "https://router.huggingface.co/hf-inference/models/{model_id}"
_ROUTES = ("auto", "generate", "chat")
_SUFFIXES = (("/v1/chat/completions", "chat"), ("/generate_stream", "generate"),
             ("/generate", "generate"), ("/v1", "chat"))


def _httpx():
    return require("httpx", extra="remote", purpose="The endpoint engine")


class _NoChatRoute(Exception):
    """The server has no chat route (or the model no chat template): use generate instead."""


class EndpointEngine(HTTPEngine):
    """An engine over a Hugging Face inference endpoint, a TGI server or the serverless API.

    Parameters
    ----------
    url_endpoint:
        The server's URL (``http://127.0.0.1:8080``, an Inference Endpoint URL; a URL ending in
        ``/generate`` or ``/v1/chat/completions`` also picks the route), or a Hub model id for
        the serverless API.
    token:
        The Hugging Face token. Default: ``HF_TOKEN``, else the ``huggingface_hub`` login.
        ``False`` sends none. The token is redacted everywhere and never appears in messages.
    route:
        ``"auto"``, ``"generate"`` or ``"chat"`` (see the module docs).
    stream:
        Stream tokens (``on_token`` sees them as they come; reading stops at a stop sequence).
    do_sample, temperature, top_p, seed:
        Sampling; greedy by default, like HfAgent.
    context_length, model_id:
        Override what ``/info`` says (or say it where the server does not).
    headers:
        Extra HTTP headers.
    connect_timeout, read_timeout:
        Seconds to connect, and to wait for each piece of the answer.
    max_retries, max_wait, backoff:
        Retries of 429, 503, 529, 502, 504, 408 and 425 (not 500: a server bug fails at once):
        ``Retry-After`` is honoured, otherwise the wait doubles from ``backoff``; at most
        ``max_wait`` seconds of waiting in all.
    transport:
        An httpx transport (e.g. ``httpx.MockTransport``) instead of the network.
    structured:
        Send TGI's grammar with constrained requests: ``"auto"`` (when ``/info`` says the TGI version
        takes one on the route in use; never for the serverless API or a server without ``/info``),
        ``True`` (always; a refusal still falls back once) or ``False`` (never).
    grammar_kind:
        ``"json"`` (a JSON schema for a list of calls, rendered into the program) or ``"regex"`` (a
        regular expression over the program text itself).
    structured_hint:
        With a JSON grammar, add one sentence about the JSON shape to the last user message (TGI
        does not show the schema to the model).
    """

    credential_help = ("Pass token=..., set HF_TOKEN, or log in with `hf auth login`; for a gated "
                       "model, accept its licence on the Hub first.")
    structured_param = "the grammar"
    engine_name = "endpoint"

    def __init__(
        self,
        url_endpoint: str,
        *,
        token: str | bool | None = None,
        route: str = "auto",
        stream: bool = True,
        do_sample: bool = False,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        context_length: int | None = None,
        model_id: str | None = None,
        headers: dict[str, str] | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        max_retries: int = 4,
        max_wait: float = 60.0,
        backoff: float = 0.5,
        transport: Any = None,
        structured: bool | str = "auto",
        grammar_kind: str = "json",
        structured_hint: bool = True,
    ) -> None:
        super().__init__(structured=structured, grammar_kind=grammar_kind,
                         structured_hint=structured_hint, headers=headers,
                         connect_timeout=connect_timeout, read_timeout=read_timeout,
                         max_retries=max_retries, max_wait=max_wait, backoff=backoff)
        self.grammar_kind = grammar_kind
        if route not in _ROUTES:
            raise ConfigurationError(f"route must be one of {', '.join(_ROUTES)}, not {route!r}.")
        target = (url_endpoint or "").strip()
        self.serverless = not target.startswith(("http://", "https://"))
        if self.serverless:
            if not re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", target):
                raise ConfigurationError(
                    f"{target!r} is neither a URL nor a Hub model id.",
                    hint="Use endpoint:http://host:port for a TGI server or an Inference Endpoint, "
                         "or endpoint:<owner>/<model> for the serverless API.")
            self.base_url, self._auth = SERVERLESS_URL.format(model_id=target), None
            self._model_id = model_id or target
        else:
            base = target.rstrip("/")
            for suffix, implied in _SUFFIXES:
                if base.endswith(suffix):
                    base = base[: -len(suffix)]
                    route = implied if route == "auto" else route
                    break
            self.base_url, self._auth = split_userinfo(base)
            self._model_id = model_id
        self.url = safe_url(self.base_url)
        self.spec = f"endpoint:{target if self.serverless else self.url}"
        self.route = route
        self.credential = hf_credential(token)
        self.defaults = {"stream": stream, "do_sample": do_sample, "temperature": temperature,
                         "top_p": top_p, "seed": seed}
        self._context_length = context_length
        self._transport = transport
        self._info: dict[str, Any] = {}
        self._probe_state = "serverless" if self.serverless else "new"  # new / unreachable / done
        self._chosen_route: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, rest: str, **options: Any) -> EndpointEngine:
        """``endpoint:<url>`` or ``endpoint:<owner>/<model>``."""
        return cls(rest, **options)

    # --- what the server says about itself --------------------------------------------------

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        if self._context_length is None:
            self._probe()
        return self._context_length

    @context_length.setter
    def context_length(self, value: int | None) -> None:
        self._context_length = value

    @property
    def model_id(self) -> str:  # type: ignore[override]
        if self._model_id is None:
            self._probe()
        return self._model_id or self._info.get("model_id") or self.url

    @model_id.setter
    def model_id(self, value: str) -> None:
        self._model_id = value

    @property
    def is_chat(self) -> bool:  # type: ignore[override]
        """Whether the server applies the chat template (the chat route)."""
        self._probe()
        return self._route() == "chat"

    @property
    def server(self) -> str:
        """What the server is, as far as known (``text-generation-inference 2.4.0``)."""
        if self.serverless:
            return "hf-inference (serverless)"
        if self._info:
            name = self._info.get("router") or "text-generation-inference"
            return f"{name} {self._info.get('version', '')}".strip()
        return "unknown (no /info)"

    @property
    def route_in_use(self) -> str:
        """``"generate"`` or ``"chat"``: the route configured, or the one ``"auto"`` chose."""
        return self._route()

    @property
    def structured_output(self) -> bool:
        """Whether constrained requests get a grammar on the route in use (see ``structured``)."""
        if self.structured is not False:
            self._probe()
        return self._structured_on(self._route())

    def _structured_on(self, route: str) -> bool:
        if self.structured is False or self.structured_off:
            return False
        if self.structured is True:
            return True
        if self.serverless or not self._info:  # only TGI's /info says what the server takes
            return False
        version = tgi.version(self._info.get("version"))
        return version is not None and version >= tgi.GRAMMAR_SINCE[route]

    def _structure(self, route: str, constraint: Any) -> Structure | None:
        if constraint is None or not self._structured_on(route):
            return None  # (the route changed to one without grammars)
        param = "response_format" if route == "chat" else "parameters.grammar"
        return Structure.tgi(constraint, self.grammar_kind, param=param, hint=self.structured_hint)

    def _probe(self, *, again: bool = False) -> Exception | None:
        """Ask ``GET /info`` once (TGI); an unreachable server is asked again by the next generate.

        Returns the connection error if the server could not be reached at all."""
        with self._lock:
            if self._probe_state == "done" or self._probe_state == "serverless":
                return None
            if self._probe_state == "unreachable" and not again:
                return None
            httpx = _httpx()
            try:
                with redacted_http_logs():
                    response = self._client().get(
                        f"{self.base_url}/info",
                        timeout=httpx.Timeout(min(self.read_timeout, 10.0), connect=self.connect_timeout))
            except httpx.TransportError as e:
                log.debug("GET %s/info failed: %s", self.url, type(e).__name__)
                self._probe_state = "unreachable"
                return e if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout)) else None
            self._probe_state = "done"
            try:
                info = response.json() if response.status_code == 200 else None
            except ValueError:
                info = None
            if not isinstance(info, dict) or not ({"model_id", "max_total_tokens"} & set(info)):
                return None
            self._info = info
            total = info.get("max_total_tokens")
            if self._context_length is None and isinstance(total, int):
                self._context_length = total
            log.debug("%s is %s serving %s", self.url, self.server, info.get("model_id"))
            return None

    def _route(self) -> str:
        if self.route != "auto":
            return self.route
        if self._chosen_route:
            return self._chosen_route
        if self.serverless:
            return "chat"
        if self._info:
            version = tgi.version(self._info.get("version"))
            return "chat" if version is None or version >= tgi.CHAT_SINCE else "generate"
        return "generate"

    # --- HTTP --------------------------------------------------------------------------------

    def _open_client(self):
        httpx = _httpx()
        headers = {"Accept": "application/json, text/event-stream", **self._headers}
        if self.credential.present:
            headers["Authorization"] = f"Bearer {self.credential.value}"
        return httpx.Client(
            headers=headers, auth=self._auth, transport=self._transport, follow_redirects=True,
            timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout,
                                  pool=self.connect_timeout))

    def _failure(self, exc: Exception, *, where: str, max_new_tokens: int):
        """httpx's transport failures; anything else propagates."""
        if isinstance(exc, _httpx().TransportError):
            return super()._failure(exc, where=where, max_new_tokens=max_new_tokens)
        return None

    # --- generation --------------------------------------------------------------------------

    def _generate(self, messages, *, stop, max_new_tokens, emit, constraint, sampling, stream) -> Completion:
        settings = self._settings(sampling, stream)
        unreachable = self._probe(again=True)
        if unreachable is not None:  # do not wait for a second connect timeout
            raise transport_error(unreachable, server=f"the server at {self.url}",
                                  connect_timeout=self.connect_timeout,
                                  read_timeout=self.read_timeout) from unreachable
        extra: dict[str, Any] = {}

        def send(structured: bool) -> Completion:
            # at most three tries in all: chat -> generate once, with -> without the grammar once
            route = self._route()
            try:
                return self._request(route, messages, stop, max_new_tokens, emit, settings,
                                     self._structure(route, constraint) if structured else None)
            except _NoChatRoute:
                log.info("%s has no usable chat route; using the generate route", self.url)
                self._chosen_route = route = "generate"
                extra["route_fallback"] = "chat -> generate"
                return self._request(route, messages, stop, max_new_tokens, emit, settings,
                                     self._structure(route, constraint) if structured else None)

        return self._with_structure_fallback(send, extra)

    def _request(self, route: str, messages, stop, max_new_tokens: int, emit, settings,
                 structure: Structure | None = None) -> Completion:
        stream = bool(settings["stream"])
        if structure is not None:
            messages = structure.messages(messages)
        prompt_text = flatten_messages(messages)
        grammar = structure.value if structure is not None else None
        max_stop = tgi.max_stop(self._info)
        if route == "chat":
            url = f"{self.base_url}/v1/chat/completions"
            body = tgi.chat_body(messages, stop, max_new_tokens, settings, max_stop=max_stop,
                                 model=self._model_id or self._info.get("model_id") or "tgi",
                                 grammar=grammar)
        else:
            body = tgi.generate_body(prompt_text, stop, max_new_tokens, settings,
                                     max_stop=max_stop, grammar=grammar)
            if self._info:  # a TGI server: its own routes
                url = f"{self.base_url}/generate_stream" if stream else f"{self.base_url}/generate"
            else:  # an Inference Endpoint / the serverless API / TGI's compat route
                url, body = self.base_url, {**body, "stream": stream}
        log_url = safe_url(url)
        where = f"the server at {log_url}"

        def attempt():
            response = self._client().send(self._client().build_request("POST", url, json=body),
                                           stream=True)
            if response.status_code < 400:
                return response
            try:
                raw = response.read()
            finally:
                response.close()
            message = server_message(raw)
            if structure is not None and structure_rejected(response.status_code, message):
                raise StructureRejected(response.status_code, message)
            if route == "chat" and self.route == "auto" and (
                    response.status_code in (404, 405) or
                    (response.status_code == 422 and "template" in message.lower())):
                raise _NoChatRoute
            raise HTTPFailure(response.status_code, message, retry_after_seconds(response.headers, raw))

        def read(response) -> Reply:
            try:
                if route == "chat":
                    return tgi.read_chat(response, emit, where=where, max_new_tokens=max_new_tokens)
                return tgi.read_generate(response, emit, where=where, max_new_tokens=max_new_tokens,
                                         prompt_text=prompt_text)
            finally:
                response.close()

        reply, attempts = self._send(attempt, read, where=where, log_url=log_url,
                                     max_new_tokens=max_new_tokens,
                                     prompt_estimate=self.count_tokens(prompt_text) + 4 * len(messages))
        return self._completion(reply, attempts, route=route, streamed=stream, structure=structure,
                                prompt_text=prompt_text if route == "generate" else "")
