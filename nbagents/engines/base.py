"""The engine seam: one small interface in front of every model.

An engine turns chat messages into a :class:`Completion`. Every engine cuts its output at the first
stop sequence (whether or not its backend honours ``stop``) and never returns the stop sequence
itself; :class:`StopCutter` does that for streamed and whole outputs alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, NbAgentsError

if TYPE_CHECKING:  # the constraint values load with the first constrained request
    from ..grammar.constraint import Constraint

__all__ = [
    "Completion",
    "Engine",
    "Sampling",
    "Message",
    "StopCutter",
    "cut_at_stop",
    "flatten_messages",
    "normalize_messages",
]

Message = Mapping[str, str]
TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class Completion:
    """What an engine returns.

    Attributes
    ----------
    text:
        The generated text, cut before the first stop sequence.
    prompt_text:
        Exactly what the model was fed (after any chat template), as far as the engine knows it.
    prompt_tokens, completion_tokens:
        Token counts, or ``None`` when the backend does not say.
    finish_reason:
        ``"stop"`` (a stop sequence or end-of-sequence token), ``"length"`` (max_new_tokens), or
        whatever the backend reports.
    stop_sequence:
        The stop sequence that ended the output, if any.
    facts:
        Engine facts for the Run: device, dtype, quantization, load time, tokens per second, ...
    """

    text: str
    prompt_text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    stop_sequence: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sampling:
    """How to pick tokens; ``None`` fields take the engine's own setting.

    ``do_sample=False`` (the default of every engine) is greedy decoding; ``temperature``,
    ``top_k``, ``top_p`` and ``seed`` apply when sampling. Engines pass on what their backend
    takes (remote servers take no ``top_k``; TGI and local models do).
    """

    do_sample: bool | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature is not None and not self.temperature > 0:
            raise ConfigurationError(f"temperature must be above 0, not {self.temperature}.",
                                     hint="For greedy decoding leave do_sample off.")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ConfigurationError(f"top_p must be in (0, 1], not {self.top_p}.")
        if self.top_k is not None and (not isinstance(self.top_k, int) or self.top_k < 1):
            raise ConfigurationError(f"top_k must be a positive whole number, not {self.top_k!r}.")

    @classmethod
    def of(cls, value: Sampling | Mapping[str, Any] | None = None, **options: Any) -> Sampling:
        """A Sampling from a Sampling, a mapping or keywords; unknown keys are a clear error."""
        if value is not None and not isinstance(value, (Sampling, Mapping)):
            raise ConfigurationError(f"sampling must be a Sampling or a dict, not {type(value).__name__}.")
        given = {**(value or {}), **options} if not isinstance(value, Sampling) else options
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ConfigurationError(
                f"Unknown sampling option(s): {', '.join(unknown)}.",
                hint="Sampling takes: " + ", ".join(sorted(known)) + ".")
        return replace(value, **given) if isinstance(value, Sampling) else cls(**given)

    def merged_over(self, defaults: Mapping[str, Any]) -> dict[str, Any]:
        """The engine's ``defaults`` with this call's set fields on top."""
        return {**defaults, **{f.name: getattr(self, f.name) for f in fields(self)
                               if getattr(self, f.name) is not None}}


def normalize_messages(prompt: str | Sequence[Message]) -> list[dict[str, str]]:
    """Accept a plain string or a list of ``{"role", "content"}`` messages."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    messages = []
    for m in prompt:
        role, content = m.get("role"), m.get("content")
        if role not in {"system", "user", "assistant"} or not isinstance(content, str):
            raise ValueError(f"Not a chat message: {m!r}")
        messages.append({"role": role, "content": content})
    return messages


def flatten_messages(messages: Sequence[Message]) -> str:
    """The completion-style rendering of chat messages, for base models and text endpoints."""
    parts = []
    for m in messages:
        if m["role"] == "assistant":
            parts.append(m["content"])
        else:
            parts.append(m["content"].rstrip())
    return "\n\n".join(p for p in parts if p) + "\n"


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, str | None]:
    """Cut ``text`` before the earliest stop sequence; return ``(text, stop_found)``."""
    best, found = len(text), None
    for s in stop:
        if not s:
            continue
        i = text.find(s)
        if i != -1 and i < best:
            best, found = i, s
    return text[:best], found


class StopCutter:
    """Incremental stop-sequence detection for streamed text.

    ``feed(chunk)`` returns the text that is safe to show now: it holds back any tail that could
    still grow into a stop sequence. Once a stop sequence appears, ``stopped`` becomes the
    sequence found and later chunks are ignored. ``flush()`` returns what was held back at the end.
    """

    def __init__(self, stop: Sequence[str] = ()) -> None:
        self.stop = tuple(s for s in stop if s)
        self._buffer = ""
        self.text = ""  # everything emitted so far (never includes a stop sequence)
        self.stopped: str | None = None

    def _held(self, buffer: str) -> int:
        """Length of the longest buffer suffix that is a proper prefix of a stop sequence."""
        hold = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(buffer)), 0, -1):
                if buffer.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        return hold

    def feed(self, chunk: str) -> str:
        if self.stopped is not None or not chunk:
            return ""
        buffer = self._buffer + chunk
        cut, found = cut_at_stop(buffer, self.stop)
        if found is not None:
            self.stopped = found
            self._buffer = ""
            self.text += cut
            return cut
        hold = self._held(buffer)
        out, self._buffer = buffer[: len(buffer) - hold], buffer[len(buffer) - hold :]
        self.text += out
        return out

    def flush(self) -> str:
        out, self._buffer = ("" if self.stopped is not None else self._buffer), ""
        self.text += out
        return out


_OLD_CONSTRAINTS = {"constrained": "ProgramSpec(...)", "grammar": "Grammar(text)",
                    "json_schema": "JsonSchema(schema)"}


def _unknown_options(options: Mapping[str, Any]) -> ConfigurationError:
    """The error for keywords ``generate`` does not take, saying where each belongs."""
    names = sorted(options)
    sampling = [n for n in names if n in {f.name for f in fields(Sampling)}]
    old = [n for n in names if n in _OLD_CONSTRAINTS]
    if old:
        hint = (f"A constraint is one typed value: constraint={_OLD_CONSTRAINTS[old[0]]} "
                "(from nbagents.grammar), once engine.accepts(...) says yes.")
    elif sampling:
        hint = "Sampling is one typed value: sampling={" + ", ".join(f"{n!r}: ..." for n in sampling) + "}."
    else:
        hint = ("generate() takes stop, max_new_tokens, on_token, constraint, sampling and stream; "
                "sampling takes " + ", ".join(f.name for f in fields(Sampling)) + ".")
    return ConfigurationError(f"Engine.generate() does not take {', '.join(names)}.", hint=hint)


class Engine(ABC):
    """Base class of every engine.

    Subclasses implement :meth:`_generate`; :meth:`generate` normalises the messages, applies the
    stop sequences client-side and forwards streamed text through a :class:`StopCutter`.
    """

    #: The spec string that names this engine (``local:...``, ``endpoint:...``, ``fake:``).
    spec: str = ""
    #: Whether the agent decides which tools a task needs before this engine writes, and ends a
    #: run no ready tool can do with a NoToolError (``Agent(route=...)`` overrides it): on for
    #: local models, which need the help; off for servers, whose models choose their own tools,
    #: and for scripted fakes, whose answers were written beforehand.
    routes_tools: bool = False
    #: The model's name, for the Run record.
    model_id: str = ""
    #: Maximum tokens the model takes (prompt + generated), or None when unknown.
    context_length: int | None = None
    #: The most tokens per answer when a call does not say.
    max_new_tokens: int = 256
    #: Whether the engine formats chat messages itself (chat template / chat route).
    is_chat: bool = True

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` for this model (an estimate of 1 token per 4 characters by default)."""
        return max(1, (len(text) + 3) // 4) if text else 0

    def describe(self) -> dict[str, Any]:
        """Facts about the engine for the Run and the status bar (no secrets)."""
        return {"spec": self.spec, "model_id": self.model_id, "context_length": self.context_length}

    def accepts(self, constraint: Constraint) -> bool:
        """Whether this engine (and the server behind it) can honour ``constraint``.

        Modes ask before every constrained request; an engine that cannot honour one gets the
        request without it. The base engine honours none.
        """
        return False

    @property
    def loaded(self) -> bool:
        """Whether the model behind the engine is ready (local engines load lazily)."""
        return True

    def generate(
        self,
        prompt: str | Sequence[Message],
        *,
        stop: Sequence[str] = (),
        max_new_tokens: int | None = None,
        on_token: TokenCallback | None = None,
        constraint: Constraint | None = None,
        sampling: Sampling | Mapping[str, Any] | None = None,
        stream: bool | None = None,
        **unknown: Any,
    ) -> Completion:
        """Generate a completion.

        Parameters
        ----------
        prompt:
            A string (one user message) or a list of chat messages.
        stop:
            Stop sequences; the output ends before the first one and never contains it.
        max_new_tokens:
            The most tokens to generate (default: the engine's ``max_new_tokens``).
        on_token:
            Called with each new piece of text as it is produced (stop sequences held back).
        constraint:
            What the model may write (:mod:`nbagents.grammar`); only one this engine
            :meth:`accepts` (ask first: a refused one is a :class:`ConfigurationError`).
        sampling:
            A :class:`Sampling` (or a dict of its fields) for this call.
        stream:
            Ask a remote server for a streamed reply (default: the engine's setting); local
            engines always stream to ``on_token``.
        """
        if unknown:
            raise _unknown_options(unknown)
        if constraint is not None:
            from ..grammar.constraint import Constraint

            if not isinstance(constraint, Constraint):
                raise ConfigurationError(
                    f"constraint must be a nbagents.grammar Constraint, not {type(constraint).__name__}.",
                    hint="Use ProgramSpec, Grammar or JsonSchema from nbagents.grammar.")
            if not self.accepts(constraint):
                raise ConfigurationError(
                    f"{type(self).__name__} ({self.spec or self.model_id}) cannot honour a "
                    f"{constraint.kind!r} constraint.",
                    hint="Ask engine.accepts(constraint) first and send the request without it "
                         "when it says no (the agent's modes do).")
        sampling = Sampling.of(sampling)
        messages = normalize_messages(prompt)
        cutter = StopCutter(stop)
        received: list[str] = []

        def emit(piece: str) -> bool:
            """Feed a streamed piece; return True once a stop sequence was produced."""
            received.append(piece)
            shown = cutter.feed(piece)
            if shown and on_token is not None:
                on_token(shown)
            return cutter.stopped is not None

        try:
            completion = self._generate(
                messages, stop=tuple(stop), max_new_tokens=max_new_tokens or self.max_new_tokens,
                emit=emit, constraint=constraint, sampling=sampling, stream=stream,
            )
        except NbAgentsError as error:  # a stream cut mid-way: keep what came, for the Run
            if received and not getattr(error, "partial_output", ""):
                error.partial_output = cut_at_stop("".join(received), stop)[0]
            raise
        tail = cutter.flush()
        if tail and on_token is not None:
            on_token(tail)
        text, found = cut_at_stop(completion.text, stop)
        found = found or cutter.stopped or completion.stop_sequence
        facts = dict(completion.facts)
        facts.setdefault("constrained", constraint is not None)
        if constraint is not None:
            facts.setdefault("constraint", constraint.kind)
        return Completion(
            text=text,
            prompt_text=completion.prompt_text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            finish_reason="stop" if found else completion.finish_reason,
            stop_sequence=found,
            facts=facts,
        )

    @abstractmethod
    def _generate(
        self,
        messages: list[dict[str, str]],
        *,
        stop: tuple[str, ...],
        max_new_tokens: int,
        emit: Callable[[str], bool],
        constraint: Constraint | None,
        sampling: Sampling,
        stream: bool | None,
    ) -> Completion:
        """Produce the completion. Call ``emit(piece)`` for each new piece of text when streaming;
        when it returns True a stop sequence was produced and generation should end now.
        The returned ``text`` may include the stop sequence or text after it (the base cuts it).

        ``constraint`` is one that :meth:`accepts` said yes to, or ``None``. Set
        ``facts["constrained"] = False`` when the server turned the constraint down and the
        answer was written freely."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec or self.model_id!r}>"
