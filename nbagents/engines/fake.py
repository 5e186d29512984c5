"""A scripted engine: queued replies, every prompt recorded. For tests and model-free notebooks."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, EngineError
from .base import Completion, Engine, Sampling, flatten_messages

if TYPE_CHECKING:  # the constraint values load with the first constrained request
    from ..grammar.constraint import Constraint

__all__ = ["ScriptedEngine", "EngineCall"]


@dataclass(frozen=True)
class EngineCall:
    """One recorded call: what the engine was asked."""

    messages: tuple[dict, ...]
    prompt_text: str
    stop: tuple[str, ...]
    max_new_tokens: int
    constraint: Constraint | None = None
    sampling: Sampling = Sampling()


class ScriptedEngine(Engine):
    """An engine that answers with queued replies and records every call.

    Parameters
    ----------
    replies:
        Replies given in order. A reply may be a string or a function of the prompt text that
        returns a string.
    chunk:
        Stream replies in pieces of this many characters (``on_token`` sees each piece).
    context_length:
        Pretend context window, to exercise prompt fitting.
    accepts:
        The constraint kinds it claims to honour (``{"program", "json_schema"}``), to exercise the
        constrained request path; it records the constraint and answers with the queued reply.

    Examples
    --------
    >>> engine = ScriptedEngine(['result = "hi"'])
    >>> engine.generate("say hi").text
    'result = "hi"'
    """

    is_chat = True

    def __init__(
        self,
        replies: Iterable[str | Callable[[str], str]] = (),
        *,
        chunk: int = 4,
        context_length: int | None = None,
        model_id: str = "scripted",
        accepts: Iterable[str] = (),
    ) -> None:
        self.accepted_kinds = frozenset(accepts)
        self.replies: deque = deque(replies)
        self.calls: list[EngineCall] = []
        self.chunk = max(1, chunk)
        self.context_length = context_length
        self.model_id = model_id
        self.spec = "fake:"

    @classmethod
    def from_spec(cls, rest: str, **options: Any) -> ScriptedEngine:
        """``fake:`` (empty queue), ``fake:<path>`` (a JSON list of replies, or a text file whose
        replies are separated by lines of ``---``)."""
        rest = rest.strip()
        if not rest:
            return cls(**options)
        path = Path(rest).expanduser()
        if not path.is_file():
            raise ConfigurationError(
                f"The scripted engine's reply file {rest!r} does not exist.",
                hint="Use 'fake:' for an empty queue, or 'fake:<file>' with a JSON list of replies.",
            )
        text = path.read_text(encoding="utf-8")
        try:
            replies = json.loads(text)
            if not isinstance(replies, list) or not all(isinstance(r, str) for r in replies):
                raise ValueError
        except ValueError:
            replies = [r.strip("\n") for r in re.split(r"(?m)^---\s*$", text) if r.strip()]
        engine = cls(replies, **options)
        engine.spec = f"fake:{rest}"
        return engine

    def queue(self, *replies: str | Callable[[str], str]) -> None:
        """Add replies to the end of the queue."""
        self.replies.extend(replies)

    @property
    def last_call(self) -> EngineCall | None:
        return self.calls[-1] if self.calls else None

    def count_tokens(self, text: str) -> int:
        # Whitespace-separated words: deterministic and easy to reason about in tests.
        return len(text.split())

    def accepts(self, constraint: Constraint) -> bool:
        return constraint.kind in self.accepted_kinds

    def _generate(self, messages, *, stop, max_new_tokens, emit, constraint, sampling, stream) -> Completion:
        prompt_text = flatten_messages(messages)
        self.calls.append(
            EngineCall(tuple(dict(m) for m in messages), prompt_text, stop, max_new_tokens, constraint, sampling)
        )
        if not self.replies:
            raise EngineError(
                "The scripted engine has no reply left.",
                hint="Queue one with engine.queue('...'), or pick a real model with %agent engine.",
            )
        reply = self.replies.popleft()
        text = reply(prompt_text) if callable(reply) else reply
        for i in range(0, len(text), self.chunk):
            if emit(text[i : i + self.chunk]):
                break
        return Completion(
            text=text,
            prompt_text=prompt_text,
            prompt_tokens=self.count_tokens(prompt_text),
            completion_tokens=self.count_tokens(text),
            finish_reason="stop",
            facts={"device": "none"},
        )
