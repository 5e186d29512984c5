"""One request's lifecycle, the same for every HTTP engine whatever its protocol.

:class:`HTTPEngine` holds what every HTTP engine has (the credential, timeouts, the retry policy, a
pooled client opened on first use, structured output switched off once a server refused it, the
context window learnt from a "prompt too long" answer) and runs one request: the engine hands it an
*attempt* (send the request once; raise :class:`~nbagents.engines.http.HTTPFailure` on an error
status), a *reader* (turn what the attempt returned into a :class:`~nbagents.engines.http.Reply`)
and, for its client library's exceptions, :meth:`HTTPEngine._failure`. The protocol's own pieces
(URLs, bodies, parsing) stay in the engine's module and its protocol module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any, TypeVar

from ...errors import (
    ConfigurationError,
    EngineConnectionError,
    EngineError,
    EngineResponseError,
    EngineTimeoutError,
    NbAgentsError,
    PromptTooLongError,
)
from ...grammar import Constraint, JsonSchema, ProgramSpec
from ...redaction import redacted_http_logs
from ..base import Completion, Engine, Sampling
from .credentials import Credential
from .failures import status_error, transport_error
from .reply import Reply
from .retries import Attempts, HTTPFailure, RetryPolicy, call_with_retries
from .structured import Structure, StructureRejected, check_structured

__all__ = ["HTTPEngine", "IGNORED"]

#: The Run's ``structured_output`` fact when the server accepted a schema and did not follow it.
IGNORED = "requested, ignored by the server"

log = logging.getLogger("nbagents.engines")
R = TypeVar("R")


class HTTPEngine(Engine):
    """Base of the engines that talk to a server over HTTP.

    Subclasses set ``credential`` (a :class:`~nbagents.engines.http.Credential`), ``url`` (safe to
    show), ``defaults`` (``stream`` and the sampling fields they take) and ``server``; say which route is in use (:attr:`route_in_use`) and whether constrained
    requests get structured output now (:attr:`structured_output`); open their client
    (:meth:`_open_client`); and build each request, handing it to :meth:`_send` and the answer to
    :meth:`_completion`.

    Parameters
    ----------
    structured, grammar_kind, structured_hint:
        Structured output, as the engines take them (checked here).
    headers:
        Extra HTTP headers.
    connect_timeout, read_timeout:
        Seconds to connect, and to wait for each piece of the answer.
    max_retries, max_wait, backoff:
        The :class:`~nbagents.engines.http.RetryPolicy`.
    """

    #: What to do about missing or refused credentials (the end of an auth error's hint).
    credential_help: str = ""
    #: The structured-output parameter, as log lines name it.
    structured_param: str = "the structured-output parameter"
    credential: Credential
    #: Where the server is, safe to show (no user info, no query string).
    url: str = ""
    #: The engine's defaults for ``stream`` and the sampling fields it takes (any other is refused).
    defaults: dict[str, Any]
    #: The engine as a refusal of a sampling field names it (``"endpoint"``: "The endpoint engine").
    engine_name: str = "HTTP"
    #: Said after the sampling fields the engine takes, when it refuses one.
    sampling_note: str = ""

    def __init__(
        self,
        *,
        structured: bool | str,
        grammar_kind: str = "json",
        structured_hint: bool = True,
        headers: dict[str, str] | None = None,
        connect_timeout: float,
        read_timeout: float,
        max_retries: int,
        max_wait: float,
        backoff: float,
    ) -> None:
        self.structured = check_structured(structured, grammar_kind)
        self.structured_hint = structured_hint
        self._structured_refused: str | None = None  # the server's words, once it refused
        self._structured_ignored: str | None = None  # why its answer showed it ignored the schema
        self._headers = dict(headers or {})
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.retry_policy = RetryPolicy(max_retries=max_retries, max_wait=max_wait, backoff=backoff)
        self._context_length: int | None = None
        self._client_obj: Any = None

    # --- what the engine says about itself ------------------------------------------------------

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        """The context window: as given, or as learnt from a "prompt too long" answer."""
        return self._context_length

    @context_length.setter
    def context_length(self, value: int | None) -> None:
        self._context_length = value

    @property
    def server(self) -> str:
        """What the server is (``text-generation-inference 2.4.0``, ``openai``)."""
        return "unknown"

    @property
    def route_in_use(self) -> str:
        """The route or API requests go to now (for ``describe()`` and the facts)."""
        return ""

    @property
    def structured_output(self) -> bool:
        """Whether constrained requests get structured output now."""
        return False

    @property
    def structured_off(self) -> bool:
        """Whether the server refused structured output or was found to ignore it."""
        return self._structured_refused is not None or self._structured_ignored is not None

    @property
    def structured_ignored(self) -> str | None:
        """Why the server was found to ignore the schemas it accepts (its answer did not follow
        one), or ``None``. Once set, constrained requests go without structured output."""
        return self._structured_ignored

    def describe(self) -> dict[str, Any]:
        out = {**super().describe(), "url": self.url, "route": self.route_in_use,
               "server": self.server, "token_source": self.credential.source,
               "structured": self.structured_output}
        if self._structured_ignored is not None:
            out["structured_ignored"] = self._structured_ignored
        return out

    def accepts(self, constraint: Constraint) -> bool:
        """A tool program (with tools) or a JSON schema, while structured output is on."""
        if isinstance(constraint, ProgramSpec) and not constraint.tools:
            return False  # no tools: no program to constrain
        return isinstance(constraint, (ProgramSpec, JsonSchema)) and self.structured_output

    # --- the client -------------------------------------------------------------------------

    def _open_client(self) -> Any:
        """A new client (an httpx client, the SDK's client) for :meth:`_client` to keep."""
        raise NotImplementedError

    def _client(self) -> Any:
        if self._client_obj is None:
            self._client_obj = self._open_client()
        return self._client_obj

    def close(self) -> None:
        """Close the connection pool (the engine reopens it if used again)."""
        if self._client_obj is not None:
            with redacted_http_logs():
                self._client_obj.close()
            self._client_obj = None

    # --- one request ------------------------------------------------------------------------

    def _settings(self, sampling: Sampling, stream: bool | None) -> dict[str, Any]:
        """This call's settings: ``sampling`` over the engine's defaults, and ``stream`` if given.
        A sampling field the engine has no default for is refused."""
        refused = [f.name for f in fields(sampling)
                   if getattr(sampling, f.name) is not None and f.name not in self.defaults]
        if refused:
            takes = ", ".join(name for name in self.defaults if name != "stream")
            raise ConfigurationError(f"The {self.engine_name} engine does not take {', '.join(refused)}.",
                                     hint=f"It takes: {takes}{self.sampling_note}.")
        settings = sampling.merged_over(self.defaults)
        if stream is not None:
            settings["stream"] = stream
        return settings

    def _with_structure_fallback(self, send: Callable[[bool], Completion],
                                 extra: dict[str, Any] | None = None) -> Completion:
        """``send(True)``; if the server refuses structured output, remember its words and
        ``send(False)`` once. The fallback goes into the facts, after ``extra`` (facts the
        caller gathered while sending; ``send`` may add to the dict)."""
        extra = {} if extra is None else extra
        try:
            completion = send(True)
        except StructureRejected as e:
            log.info("%s refused %s (%s); sending the request without it", self.url,
                     self.structured_param, e.message)
            self._structured_refused = e.message
            extra.update(structured_fallback=e.message, constrained=False,
                         structured_output="requested, refused by the server")
            completion = send(False)
        return replace(completion, facts={**completion.facts, **extra}) if extra else completion

    def _send(self, attempt: Callable[[], R], read: Callable[[R], Reply], *, where: str,
              log_url: str, max_new_tokens: int, prompt_estimate: int) -> tuple[Reply, Attempts]:
        """Run ``attempt`` with retries, then ``read`` what it returned, with the HTTP stack's
        loggers redacted meanwhile (:func:`~nbagents.redaction.redacted_http_logs`).

        An error status becomes the nbagents error for it (``where``: "the server at <safe URL>");
        an exception of the client library becomes :meth:`_failure`'s error; a "prompt too long"
        answer, however it came, tells the context window. :class:`StructureRejected` (raised
        by the attempt) and nbagents errors pass through.
        """
        def to_error(failure: HTTPFailure, attempts: Attempts) -> EngineError:
            return status_error(failure, attempts, server=where, credential=self.credential,
                                credential_help=self.credential_help, max_new_tokens=max_new_tokens,
                                prompt_estimate=prompt_estimate, context_length=self._context_length)

        try:
            with redacted_http_logs():  # the client library's DEBUG lines, a stream read included
                raw, attempts = call_with_retries(attempt, self.retry_policy, where=log_url,
                                                  to_error=to_error)
                return read(raw), attempts
        except PromptTooLongError as error:
            self._learn(error)
            raise
        except (NbAgentsError, StructureRejected):
            raise
        except Exception as exc:
            error = self._failure(exc, where=where, max_new_tokens=max_new_tokens)
            if error is None:
                raise
            self._learn(error)
            raise error from (exc if _keeps_cause(error) else None)

    def _failure(self, exc: Exception, *, where: str, max_new_tokens: int) -> EngineError | None:
        """The nbagents error for an exception of the client library, or ``None`` to let it
        propagate. Here: transport failures (connect, timeouts, a connection cut mid-reply)."""
        return transport_error(exc, server=where, connect_timeout=self.connect_timeout,
                               read_timeout=self.read_timeout)

    def _note_ignored(self, reason: str) -> None:
        """The server accepted a schema and did not follow it: free text from now on."""
        if self._structured_ignored is None:
            log.warning("%s accepted %s but its answer does not follow the schema (%s); sending "
                        "constrained requests without it from now on", self.url, self.structured_param,
                        reason)
            self._structured_ignored = reason

    def _learn(self, error: Exception) -> None:
        """A prompt-too-long answer tells the context window: remember it for prompt fitting."""
        if isinstance(error, PromptTooLongError) and self._context_length is None:
            self._context_length = error.context_length

    def _completion(self, reply: Reply, attempts: Attempts, *, route: str, streamed: bool,
                    structure: Structure | None, prompt_text: str) -> Completion:
        """The Completion for ``reply``, with the facts every HTTP engine records (server, route,
        URL, streamed, retries, the served model where it differs) and structured output's."""
        facts: dict[str, Any] = {"server": self.server, "route": route, "url": self.url,
                                 "streamed": streamed, "retries": attempts.retries,
                                 "retry_wait_s": round(attempts.waited, 3)}
        if reply.served_model and reply.served_model != self.model_id:
            facts["served_model"] = reply.served_model
        text = reply.text
        if structure is not None:
            ignored = structure.ignored(text, reply.finish_reason)
            text, answer = structure.render(text)
            facts.update(structure.facts(), **answer)
            if ignored is None:
                checked = structure.kind == "json" and reply.finish_reason != "length"
                facts["structured_output"] = "requested, followed by the server" if checked else "requested"
            else:
                self._note_ignored(ignored)
                facts.update(constrained=False, structured_output=IGNORED, structured_ignored=ignored)
        return Completion(text=text, prompt_text=prompt_text, prompt_tokens=reply.prompt_tokens,
                          completion_tokens=reply.completion_tokens,
                          finish_reason=reply.finish_reason, facts=facts)


def _keeps_cause(error: Exception) -> bool:
    """Transport errors keep their cause (no secrets in it); server-worded ones do not."""
    return isinstance(error, (EngineConnectionError, EngineTimeoutError)) or (
        isinstance(error, EngineResponseError) and "closed before the reply" in error.message)
