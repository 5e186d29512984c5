"""Constrained decoding under one grammar for the whole answer: :class:`GuidedDecoder` follows a
:class:`~nbagents.grammar.Grammar` (a plan, a ReAct step, a JSON schema).

Unlike :class:`~.program.ProgramDecoder` (a tool program, one grammar per line), this follows one
grammar (possibly in segments, :attr:`Grammar.then <nbagents.grammar.Grammar.then>`) with a plain
loop: tokens the grammar forces are fed in one forward pass, every other step masks the logits to
what the grammar allows and the engine's sampler picks. Two small additions keep small models on
track:

* **choice points** (:attr:`Grammar.choices <nbagents.grammar.Grammar.choices>`): where the text
  reaches a given key (``"task": "`` in a plan), the allowed candidates (the tool names) are
  scored whole in one batched forward pass and the best is forced, instead of letting greedy
  decoding commit on a first token;
* **closing near the end**: in the last ``reserve`` tokens of the budget, tokens that close a
  string or a bracket are preferred and ``,`` and opening brackets are avoided, so that JSON
  closes before the budget runs out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from ...grammar.constraint import Grammar
from .constrained import ConstrainedDecoder
from .decoding import ModelState
from .matcher import byte_masks

__all__ = ["GuidedDecoder"]

log = logging.getLogger("nbagents")

_CLOSE = (b"]", b"}", b")")
_OPEN = (b"[", b"{", b"(", b",")


def _bias_masks(bridge: Any) -> tuple[Any, Any, Any]:
    """Tokens with a quote, tokens that close a bracket, and tokens that open one or go on
    (``,``); cached per tokenizer bridge."""
    return byte_masks(bridge, (b'"', b"".join(_CLOSE), b"".join(_OPEN)))


def _in_string(text: str) -> bool:
    """Whether JSON-like ``text`` ends inside a string literal (an odd number of unescaped quotes)."""
    inside = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and inside:
            escaped = True
        elif ch == '"':
            inside = not inside
    return inside


class GuidedDecoder(ConstrainedDecoder):
    """One answer under ``grammar``; ``reserve``: the last tokens of the budget, where closing
    tokens are preferred."""

    def __init__(self, state: ModelState, tokenizer: Any, grammar: Grammar, *, max_new_tokens: int,
                 emit: Callable[[str], bool], eos_ids: set[int], sampler: Callable[[Any], int] | None,
                 reserve: int = 24) -> None:
        super().__init__(state, tokenizer, max_new_tokens=max_new_tokens, emit=emit, eos_ids=eos_ids,
                         sampler=sampler)
        self.reserve = reserve
        self.end: str | None = None
        self.choices: list[dict[str, Any]] = []
        self._tried: set[int] = set()
        self.first = grammar  # the first segment's grammar names the answer's kind
        self._start(grammar)

    def _start(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.open_grammar(grammar.text)

    def written(self) -> str:
        """All the text so far (every segment), exactly as the tokens decode."""
        return bytes(self.bridge.decode_bytes(self.tokens)).decode("utf-8", errors="replace")

    def push(self, tokens: Sequence[int], *, feed: bool = True) -> None:
        if self.consume(tokens, feed=feed) and self.end is None:
            self.end = "stop"
            self.stopped = True
        if self.end is None and self.c.is_done():
            following = self._then()
            if following is None:
                self.end = "done"
            else:
                self._start(following)

    def _then(self) -> Grammar | None:
        """The next segment's grammar, from the text so far and the tokens left."""
        then = self.grammar.then
        return None if then is None else then(self.written(), self.budget())

    def step(self) -> bool:
        if self.end is not None:
            return False
        if self.budget() <= 0:
            self.end = "length"
            return False
        if self.force():
            return True
        if self.grammar.choices and self._choose():
            return True
        token, allowed = self.masked_pick(self._closing_bias if self.budget() <= self.reserve else None)
        if token in self.eos_ids or not allowed:
            if self.c.is_accepting():
                self.tokens.append(token)
                self.end = "eos"
            else:  # nothing allowed (a grammar too complex for the lexer): end, do not loop
                self.end = "stuck"
                log.warning("The grammar allowed no token here: %s", self.c.error[:300] or "(no error)")
            return False
        self.push([token])
        return True

    def _closing_bias(self, mask: Any) -> Any:
        """Near the end of the budget: inside a string prefer tokens with a quote (they close
        it); outside, prefer closing brackets and avoid quotes, commas and opening brackets."""
        quotes, closers, openers = _bias_masks(self.bridge)
        if _in_string(self.written()):
            return (quotes & mask) * 1e4
        return (closers & mask) * 1e4 - ((openers | quotes) & mask) * 1e3

    # --- choice points ---------------------------------------------------------------------------

    def _choose(self) -> bool:
        position = len(self.tokens)
        if position in self._tried:
            return False
        self._tried.add(position)
        t = time.perf_counter()
        pending = self.c.forced_bytes().decode("utf-8", errors="replace")
        here = self.c.text() + pending
        found = [(here.rfind(k), k) for k in self.grammar.choices]
        at, key = max(found) if found else (-1, "")
        typed = here[at + len(key):] if at >= 0 else ""
        candidates: list[tuple[str, list[int]]] = []
        if at >= 0 and '"' not in typed and "\n" not in typed:  # between the key and the choice's end
            for name in self.grammar.choices[key]:
                if not name.startswith(typed) or len(name) <= len(typed):
                    continue
                ids = self.continuation(pending + name[len(typed):])
                if ids is not None:
                    candidates.append((name, ids))
        self.choice_s += time.perf_counter() - t
        taken = self.choose(candidates, self.grammar.prior)
        if taken is None:
            return False
        self.choices.append({"at": key, "chosen": taken[0], **taken[1]})
        return True

    # --- the result ---------------------------------------------------------------------------

    def finish(self) -> tuple[str, str]:
        self.flush()
        return self.text.text, "length" if self.end == "length" else "stop"

    def facts(self) -> dict[str, Any]:
        c = self.c
        return {
            **super().facts(),
            "grammar": self.grammars[-1],
            **({"grammars": self.grammars} if len(self.grammars) > 1 else {}),
            "grammar_kind": self.first.kind,
            "grammar_name": self.first.name,
            "grammar_end": self.end,
            "grammar_complete": c.is_accepting(),
            **({"grammar_error": c.error[:1000]} if c.error else {}),
            "choices": self.choices,
            "choice_s": round(self.choice_s, 4),
        }
