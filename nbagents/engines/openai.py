"""OpenAI and any OpenAI-compatible server (vLLM, TGI, llama.cpp server, Ollama):
``openai:<model>``, ``openai:<model>@<base_url>``. Azure OpenAI (``azure:<deployment>``) is
:mod:`nbagents.engines.azure`, a subclass of this engine.

Built on the openai SDK (the ``openai`` extra): it builds the requests (Azure's deployment routes
and ``api-version`` included), parses SSE and types the errors. Its own retries are switched off
(``max_retries=0``) so that every engine retries the same way (:mod:`nbagents.engines.http`):
``Retry-After`` honoured, bounded backoff, a cap on the total wait, retries counted in the facts.

Structured output (``generate(..., constraint=...)`` with a constraint the engine
:meth:`~OpenAIEngine.accepts`: a :class:`~nbagents.grammar.ProgramSpec` or a
:class:`~nbagents.grammar.JsonSchema`): ``response_format={"type": "json_schema", "json_schema":
{..., "strict": true}}`` on the chat API; a tool program's JSON answer is rendered into the program
text, a schema's answer passed through. Lark grammars (a local engine's plan grammar) are not
accepted: the agent asks for the plan's JSON schema instead. On by
default for OpenAI and OpenAI-compatible servers (vLLM, llama.cpp, Ollama take it), and for Azure
from api-version 2024-08-01 on. A server that refuses the parameter (HTTP 400/422 naming it) gets
the same request once more without it, and the engine remembers; a server that ignores it answers
free text, which the agent parses as usual.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from ..deps import require
from ..errors import (
    ConfigurationError,
    EngineAuthError,
    EngineResponseError,
)
from ..redaction import redacted_http_logs
from .base import Completion, flatten_messages
from .http import (
    HTTPEngine,
    HTTPFailure,
    Reply,
    Structure,
    StructureRejected,
    cut_off,
    env_credential,
    retry_after_seconds,
    safe_url,
    sentence_case,
    server_message,
    stream_error,
    structure_rejected,
)

__all__ = ["OpenAIEngine", "OPENAI_URL"]

OPENAI_URL = "https://api.openai.com/v1"
_APIS = ("chat", "completions")
#: The sampling fields the API takes (``Sampling.top_k`` and ``do_sample`` it does not).
_SAMPLING = ("temperature", "top_p", "seed")


def _openai():
    return require("openai", extra="openai", purpose="The OpenAI engine")


class OpenAIEngine(HTTPEngine):
    """An engine over the OpenAI API or any OpenAI-compatible server.

    Parameters
    ----------
    model:
        The model name (``gpt-4o-mini``; for a local server, the name it serves).
    api_key:
        The key. Default: ``OPENAI_API_KEY``. A local server (``base_url``) may need none.
    base_url:
        An OpenAI-compatible server, e.g. ``http://localhost:8000/v1`` (vLLM),
        ``http://localhost:11434/v1`` (Ollama). Default: ``OPENAI_BASE_URL`` or OpenAI.
    api:
        ``"chat"`` (chat completions) or ``"completions"`` (legacy text completions).
    stream:
        Stream tokens (reading stops at a stop sequence).
    temperature, top_p, seed:
        Sampling (``temperature=0`` by default; ``None`` sends none, for models that refuse it).
    max_tokens_param:
        The request field for the token limit: ``"max_tokens"`` (compatible servers, the default
        with ``base_url``) or ``"max_completion_tokens"`` (the default with OpenAI itself).
    stream_usage:
        Ask for token counts at the end of a stream (``stream_options.include_usage``).
    context_length:
        The model's context window, for prompt fitting (the API does not say it).
    organization, headers, http_client:
        Passed to the SDK client (``http_client`` lets tests inject a transport).
    connect_timeout, read_timeout, max_retries, max_wait, backoff:
        As for :class:`~nbagents.engines.endpoint.EndpointEngine`.
    structured:
        Send ``response_format`` (a strict JSON schema) with constrained requests: ``"auto"`` (the
        chat API; for Azure, api-version 2024-08-01 or later), ``True`` or ``False``. A refusal
        falls back once to free text and is remembered. The completions API has no such field.
    structured_hint:
        Add one sentence about the JSON shape to the last user message (the prompt asks for a
        ```py block; OpenAI shows the schema to the model, many compatible servers do not).
    """

    key_env: tuple[str, ...] = ("OPENAI_API_KEY",)
    credential_help = ("Pass api_key=... or set OPENAI_API_KEY (a local OpenAI-compatible server may "
                       "need none, or the key it was started with).")
    structured_param = "response_format"
    engine_name = "OpenAI"
    sampling_note = " (the API always samples; temperature=... sets how much)"

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api: str = "chat",
        stream: bool = True,
        temperature: float | None = 0.0,
        top_p: float | None = None,
        seed: int | None = None,
        max_tokens_param: str | None = None,
        stream_usage: bool = True,
        context_length: int | None = None,
        organization: str | None = None,
        headers: dict[str, str] | None = None,
        http_client: Any = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        max_retries: int = 4,
        max_wait: float = 60.0,
        backoff: float = 0.5,
        structured: bool | str = "auto",
        structured_hint: bool = True,
    ) -> None:
        if api not in _APIS:
            raise ConfigurationError(f"api must be 'chat' or 'completions', not {api!r}.")
        super().__init__(structured=structured, structured_hint=structured_hint, headers=headers,
                         connect_timeout=connect_timeout, read_timeout=read_timeout,
                         max_retries=max_retries, max_wait=max_wait, backoff=backoff)
        if structured is True and api != "chat":
            raise ConfigurationError("structured=True needs api='chat': the completions API has no "
                                     "response_format.")
        self.model_id = model
        self.api = api
        self.base_url = (base_url or "").rstrip("/") or None
        self.credential = env_credential(api_key, *self.key_env)
        self.defaults = {"stream": stream, "temperature": temperature, "top_p": top_p, "seed": seed}
        self.stream_usage = stream_usage
        self.context_length = context_length
        self.organization = organization
        self._http_client = http_client
        official = self.base_url is None and not os.environ.get("OPENAI_BASE_URL")
        self.max_tokens_param = max_tokens_param or (
            "max_completion_tokens" if official else "max_tokens")
        self.url = safe_url(self.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL)
        self.spec = f"openai:{model}" + (f"@{safe_url(self.base_url)}" if self.base_url else "")
        self._models: list[dict[str, Any]] | None = None  # GET /models, once asked
        self._json_object = False  # the server takes a schema as response_format type json_object

    @classmethod
    def from_spec(cls, rest: str, **options: Any) -> OpenAIEngine:
        """``openai:<model>`` or ``openai:<model>@<base_url>``."""
        model, sep, url = rest.strip().partition("@http")
        if sep:
            options.setdefault("base_url", "http" + url)
        if not model:
            raise ConfigurationError("openai: needs a model name, e.g. openai:gpt-4o-mini.")
        return cls(model, **options)

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        """The context window: as given, as learnt from a "prompt too long" answer, or, for a
        local server (``base_url``), as its ``/models`` entry for the model says (vLLM's
        ``max_model_len``, llama.cpp's ``meta.n_ctx``...); ``None`` when nothing says."""
        if self._context_length is None and self.base_url is not None and self._models is None:
            self._context_length = _window(self._model_entry())
        return self._context_length

    @context_length.setter
    def context_length(self, value: int | None) -> None:
        self._context_length = value

    def served_models(self) -> list[dict[str, Any]]:
        """What the server's ``GET /models`` lists (asked once; ``[]`` when it does not answer)."""
        if self._models is None:
            self._models = []
            try:
                with redacted_http_logs():
                    page = self._client().models.list()
                self._models = [m.model_dump() for m in getattr(page, "data", None) or []]
            except Exception:  # noqa: BLE001 - a server without /models, or not up: nothing known
                pass
        return self._models

    def _model_entry(self) -> dict[str, Any] | None:
        entries = self.served_models()
        return next((m for m in entries if m.get("id") == self.model_id),
                    entries[0] if len(entries) == 1 else None)

    def _with_models(self, error: EngineResponseError) -> EngineResponseError:
        """A "no such model" answer gets the server's list of models in its hint."""
        if error.status not in (400, 404) or "model" not in error.message.lower():
            return error
        names = [str(m.get("id")) for m in self.served_models() if m.get("id")]
        if names and self.model_id not in names:
            error.hint = (f"The server serves {', '.join(map(repr, names[:10]))}, not {self.model_id!r}: "
                          f"use engine='openai:{names[0]}@{self.url}'.")
        return error

    @property
    def is_chat(self) -> bool:  # type: ignore[override]
        return self.api == "chat"

    @property
    def server(self) -> str:
        return "openai" if self.url == OPENAI_URL else "openai-compatible"

    @property
    def route_in_use(self) -> str:
        """``"chat"`` or ``"completions"``."""
        return self.api

    @property
    def structured_output(self) -> bool:
        """Whether constrained requests get ``response_format`` now (see ``structured``)."""
        if self.structured is False or self.structured_off or self.api != "chat":
            return False
        return self.structured is True or self._auto_structured()

    def _auto_structured(self) -> bool:
        return True

    # --- the SDK client ----------------------------------------------------------------------

    def _check_credentials(self) -> None:
        if not self.credential.present and self.base_url is None:
            raise EngineAuthError(f"No API key for {self.url} was found.", hint=self.credential_help)

    def _make_client(self, openai: Any, timeout: Any) -> Any:
        return openai.OpenAI(api_key=self.credential.value or "no-key", base_url=self.base_url,
                             organization=self.organization, timeout=timeout, max_retries=0,
                             default_headers=self._headers or None, http_client=self._http_client)

    def _open_client(self) -> Any:
        openai = _openai()
        return self._make_client(openai, openai.Timeout(self.read_timeout, connect=self.connect_timeout))

    # --- generation --------------------------------------------------------------------------

    def _request_args(self, messages, stop, max_new_tokens: int, settings,
                      structure: Structure | None = None) -> dict[str, Any]:
        args: dict[str, Any] = {"model": self.model_id, self.max_tokens_param: max_new_tokens}
        if structure is not None:
            messages = structure.messages(messages)
            args["response_format"] = dict(structure.value)
        if self.api == "chat":
            args["messages"] = messages
        else:
            args["prompt"] = flatten_messages(messages)
        if stop:
            args["stop"] = list(stop[:4])  # the API takes at most 4; the rest are cut client-side
        for name in _SAMPLING:
            if settings[name] is not None:
                args[name] = settings[name]
        if settings["stream"]:
            args["stream"] = True
            if self.stream_usage:
                args["stream_options"] = {"include_usage": True}
        return args

    def _generate(self, messages, *, stop, max_new_tokens, emit, constraint, sampling, stream) -> Completion:
        settings = self._settings(sampling, stream)
        self._check_credentials()
        structure = Structure.openai(constraint, hint=self.structured_hint) if constraint is not None else None

        def send(structured: bool) -> Completion:
            if not structured or structure is None:
                return self._call(messages, stop, max_new_tokens, emit, settings, None)
            if self._json_object:
                return self._call(messages, stop, max_new_tokens, emit, settings, structure.as_json_object())
            try:
                return self._call(messages, stop, max_new_tokens, emit, settings, structure)
            except StructureRejected as e:
                if "json_object" not in e.message:
                    raise
                self._json_object = True  # llama-cpp-python: {"type": "json_object", "schema": ...}
                return self._call(messages, stop, max_new_tokens, emit, settings, structure.as_json_object())

        return self._with_structure_fallback(send)

    def _call(self, messages, stop, max_new_tokens: int, emit, settings,
              structure: Structure | None) -> Completion:
        openai = _openai()
        args = self._request_args(messages, stop, max_new_tokens, settings, structure)
        resource = self._client().chat.completions if self.api == "chat" else self._client().completions
        where = f"the server at {self.url}"
        prompt_text = flatten_messages(messages)

        def attempt():
            try:
                return resource.create(**args)
            except openai.APIStatusError as e:
                body = e.response.text if e.response is not None else e.message
                headers = e.response.headers if e.response is not None else None
                message = server_message(body) or server_message(e.message)
                if structure is not None and structure_rejected(e.status_code, message):
                    raise StructureRejected(e.status_code, message) from None
                raise HTTPFailure(e.status_code, message, retry_after_seconds(headers, body)) from None

        def read(reply: Any) -> Reply:
            if settings["stream"]:
                return self._read_stream(reply, emit, where)
            whole = self._read_whole(reply, where)
            emit(whole.text)
            return whole

        try:
            reply, attempts = self._send(attempt, read, where=where, log_url=self.url,
                                         max_new_tokens=max_new_tokens,
                                         prompt_estimate=self.count_tokens(prompt_text) + 4 * len(messages))
        except EngineResponseError as error:
            raise self._with_models(error) from error.__cause__
        return self._completion(reply, attempts, route=self.api, streamed=bool(settings["stream"]),
                                structure=structure,
                                prompt_text="" if self.api == "chat" else prompt_text)

    def _failure(self, exc: Exception, *, where: str, max_new_tokens: int):
        """The nbagents error for an SDK or transport exception, or ``None`` if it is neither."""
        openai = _openai()
        if isinstance(exc, openai.APIResponseValidationError):
            return EngineResponseError(
                f"{sentence_case(where)} sent a reply that does not fit the OpenAI schema: "
                f"{server_message(exc.body or exc.message, limit=200)!r}",
                hint="Is this an OpenAI-compatible server? Check base_url and the model name.")
        if isinstance(exc, json.JSONDecodeError):
            return EngineResponseError(
                f"{sentence_case(where)} sent a reply that is not valid JSON ({exc.msg} at character "
                f"{exc.pos}): {server_message(exc.doc, limit=200)!r}",
                hint="The server, or a proxy in front of it, is not speaking the OpenAI protocol; "
                     "check base_url (it usually ends in /v1).")
        error = super()._failure(exc, where=where, max_new_tokens=max_new_tokens)
        if error is None and isinstance(exc, openai.APIError):  # an error event inside a stream
            error = stream_error(where, server_message(exc.body or exc.message), max_new_tokens)
        return error

    def _piece(self, choice: Any) -> str:
        if self.api == "chat":
            delta = getattr(choice, "delta", None)
            return (getattr(delta, "content", None) or "") if delta is not None else ""
        return getattr(choice, "text", None) or ""

    def _read_stream(self, stream: Any, emit: Callable[[str], bool], where: str) -> Reply:
        pieces: list[str] = []
        finish = served = None
        usage: dict[str, Any] = {}
        with stream:  # closes the connection on return, on error and on KeyboardInterrupt
            for chunk in stream:
                served = getattr(chunk, "model", None) or served
                if getattr(chunk, "usage", None) is not None:
                    usage = _usage(chunk.usage)
                for choice in getattr(chunk, "choices", None) or []:
                    finish = getattr(choice, "finish_reason", None) or finish
                    piece = self._piece(choice)
                    if piece:
                        pieces.append(piece)
                        if emit(piece):
                            return Reply("".join(pieces), None, len(pieces), "stop", served)
        if finish is None:
            raise cut_off(where, len(pieces), "no finish_reason")
        return Reply("".join(pieces), usage.get("prompt_tokens"), usage.get("completion_tokens"),
                     finish, served)

    def _read_whole(self, reply: Any, where: str) -> Reply:
        try:
            choice = reply.choices[0]
            text = choice.message.content if self.api == "chat" else choice.text
            if text is None and self.api == "chat":  # structured outputs: the model declined
                text = getattr(choice.message, "refusal", None)
        except (AttributeError, IndexError, TypeError):
            text, choice = None, None
        if not isinstance(text, str):
            dump = getattr(reply, "model_dump_json", None)
            shown = dump() if callable(dump) else reply
            raise EngineResponseError(
                f"{sentence_case(where)} sent a reply without choices[0]."
                f"{'message.content' if self.api == 'chat' else 'text'}: "
                f"{server_message(str(shown), limit=200)!r}",
                hint="Is this an OpenAI-compatible server? Check base_url and the model name.")
        usage = _usage(reply.usage) if getattr(reply, "usage", None) is not None else {}
        return Reply(text, usage.get("prompt_tokens"), usage.get("completion_tokens"),
                     getattr(choice, "finish_reason", None), getattr(reply, "model", None))


#: Where servers' ``/models`` entries say the context window: vLLM ``max_model_len``, llama.cpp's
#: server ``meta.n_ctx`` / ``meta.n_ctx_train``, others ``context_length`` / ``context_window``.
_WINDOW_KEYS = ("max_model_len", "context_length", "context_window", "n_ctx", "max_context_length")


def _window(entry: dict[str, Any] | None) -> int | None:
    if not entry:
        return None
    for where in (entry, entry.get("meta") or {}):
        for key in (*_WINDOW_KEYS, "n_ctx_train"):
            value = where.get(key) if isinstance(where, dict) else None
            if isinstance(value, int) and value > 0:
                return value
    return None


def _usage(usage: Any) -> dict[str, Any]:
    return {"prompt_tokens": getattr(usage, "prompt_tokens", None),
            "completion_tokens": getattr(usage, "completion_tokens", None)}
