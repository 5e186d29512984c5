"""A general grammar for local engines: ``engine.generate(..., grammar=...)`` or
``engine.generate(..., json_schema={...})``.

Unlike :func:`~nbagents.constrain.decode.generate_program` (a tool program, one grammar per line),
this follows one fixed grammar for the whole answer with a plain loop: tokens the grammar forces
are fed in one forward pass, every other step masks the logits to what the grammar allows and the
engine's sampler picks. Two small additions keep small models on track:

* **choice points** (:attr:`Grammar.choices`): where the text reaches a given key (``"task": "``
  in a plan), the allowed candidates (the tool names) are scored whole in one batched forward pass
  and the best is forced, instead of letting greedy decoding commit on a first token;
* **closing near the end**: in the last ``reserve`` tokens of the budget, tokens that close a
  string or a bracket are preferred and ``,`` and opening brackets are avoided, so that JSON
  closes before the budget runs out.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..grammar.constraint import Constraint
from .decode import ProgramResult, _add_bias, _Decoder, _Model, finished, start
from .matcher import apply_mask, byte_masks

__all__ = ["Grammar", "as_grammar", "generate_guided"]

log = logging.getLogger("nbagents")

_CLOSE = (b"]", b"}", b")")
_OPEN = (b"[", b"{", b"(", b",")


@dataclass(frozen=True)
class Grammar(Constraint):
    """A grammar for the whole answer.

    Parameters
    ----------
    text:
        A Lark grammar in llguidance's dialect, or llguidance's JSON grammar (what
        :meth:`from_json_schema` builds).
    kind:
        ``"lark"`` or ``"json_schema"`` (for the Run's facts).
    choices:
        Choice points: when the text so far ends with a key, the candidate strings the grammar
        allows there are scored as wholes and the best is forced.
    prior:
        Nats added to a candidate's log-likelihood at a choice point (by candidate string).
    name:
        What the grammar is for (``"plan"``), for the Run's facts.
    then:
        For answers written in segments: once this grammar is complete (nothing more can
        follow), ``then(text so far, tokens left)`` gives the grammar of the next segment, or
        ``None`` when
        the answer ends there. A segment's grammar can so depend on what was written before
        (a plan's next task may refer to the earlier tasks' results by type).
    """

    text: str
    kind: str = "lark"
    choices: Mapping[str, Sequence[str]] = field(default_factory=dict)
    prior: Mapping[str, float] = field(default_factory=dict)
    name: str = ""
    then: Callable[[str, int], Grammar | None] | None = field(default=None, compare=False)

    @classmethod
    def from_json_schema(cls, schema: Mapping[str, Any] | str, **options: Any) -> Grammar:
        """A grammar from a JSON schema (a dict or its JSON text), compact JSON layout."""
        import llguidance

        text = schema if isinstance(schema, str) else json.dumps(schema)
        # Compact: with flexible whitespace a small model can pad the JSON until its budget ends.
        compact = {"whitespace_flexible": False}
        return cls(llguidance.LLMatcher.grammar_from_json_schema(text, compact), kind="json_schema", **options)


def as_grammar(grammar: Grammar | str | None = None, json_schema: Mapping[str, Any] | str | None = None) -> Grammar:
    """The :class:`Grammar` of an engine's ``grammar=`` (Lark text or a Grammar) or ``json_schema=``."""
    from ..errors import ConfigurationError

    if grammar is not None and json_schema is not None:
        raise ConfigurationError("Pass grammar= or json_schema=, not both.")
    if json_schema is not None:
        return Grammar.from_json_schema(json_schema)
    if isinstance(grammar, Grammar):
        return grammar
    if isinstance(grammar, str) and grammar.strip():
        return Grammar(grammar)
    raise ConfigurationError(f"grammar must be Lark text or a Grammar, not {type(grammar).__name__}.")


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


class _Guided(_Decoder):
    def __init__(self, model: _Model, tokenizer: Any, bridge: Any, grammar: Grammar, *, max_new_tokens: int,
                 emit: Callable[[str], bool], eos_ids: set[int], sampler: Callable[[Any], int] | None,
                 reserve: int) -> None:
        super().__init__(model, tokenizer, bridge, max_new_tokens=max_new_tokens, emit=emit, eos_ids=eos_ids,
                         sampler=sampler)
        self.reserve = reserve
        self.end: str | None = None
        self.choices: list[dict[str, Any]] = []
        self._tried: set[int] = set()
        self._start(grammar)

    def _start(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self._open(grammar.text)

    def written(self) -> str:
        """All the text so far (every segment), exactly as the tokens decode."""
        return bytes(self.bridge.decode_bytes(self.tokens)).decode("utf-8", errors="replace")

    def push(self, tokens: Sequence[int], *, feed: bool = True) -> None:
        if self._consume(tokens, feed=feed) and self.end is None:
            self.end = "stop"
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
        if self._force():
            return True
        if self.grammar.choices and self._choose():
            return True
        logits = self.m.logits().clone()
        t = time.perf_counter()
        mask = self.c.allowed_mask()
        apply_mask(logits, mask)
        if self.budget() <= self.reserve:
            self._prefer_closing(logits, mask)
        self.constraint_s += time.perf_counter() - t
        token, allowed = self._pick(logits, mask)
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

    def _prefer_closing(self, logits: Any, mask: Any) -> None:
        """Near the end of the budget: inside a string prefer tokens with a quote (they close
        it); outside, prefer closing brackets and avoid quotes, commas and opening brackets."""
        quotes, closers, openers = _bias_masks(self.bridge)
        if _in_string(self.written()):
            _add_bias(logits, (quotes & mask) * 1e4)
        else:
            _add_bias(logits, (closers & mask) * 1e4 - ((openers | quotes) & mask) * 1e3)

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
                rest = pending + name[len(typed):]
                for ids in (list(self.tokenizer(rest, add_special_tokens=False)["input_ids"]),
                            list(self.bridge.tokenize_str(rest))):
                    if ids and self.c.validate(ids) == len(ids):
                        candidates.append((name, ids))
                        break
        self.choice_s += time.perf_counter() - t
        if not candidates or max(len(ids) for _, ids in candidates) > self.budget():
            return False
        logits = self.m.logits()
        if len(candidates) == 1:
            self.choices.append({"at": key, "chosen": candidates[0][0], "scores": {}})
            self.push(candidates[0][1])
            return True
        taken = self._take_best(logits, candidates, self.grammar.prior)
        if taken is None:
            return False
        self.choices.append({"at": key, "chosen": taken[0], **taken[1]})
        return True


def generate_guided(
    model: Any,
    tokenizer: Any,
    prompt_ids: Sequence[int],
    grammar: Grammar | str,
    *,
    max_new_tokens: int,
    emit: Callable[[str], bool] = lambda piece: False,
    eos_ids: set[int] | Sequence[int] = (),
    prefix_cache: Any = None,
    past_key_values: Any = None,
    sampler: Callable[[Any], int] | None = None,
    supports_logits_to_keep: bool = True,
    reserve: int = 24,
) -> ProgramResult:
    """Generate after ``prompt_ids`` under one grammar for the whole answer. Run it under
    ``torch.inference_mode()`` (and the engine's thread setting).

    Returns
    -------
    ProgramResult
        ``text`` is the generated text; ``facts`` has ``constrained: True``, the grammar, how the
        answer ended (``grammar_end``: ``done``, ``eos``, ``length``, ``stop``) and the choices.
    """
    grammar = as_grammar(grammar)
    begun = start(model, tokenizer, prompt_ids, prefix_cache=prefix_cache, past_key_values=past_key_values,
                  supports_logits_to_keep=supports_logits_to_keep)
    run = _Guided(begun.state, tokenizer, begun.bridge, grammar, max_new_tokens=max_new_tokens, emit=emit,
                  eos_ids=set(eos_ids), sampler=sampler, reserve=reserve)
    while run.step():
        pass
    tail = run.text.flush()
    if tail and run.end != "stop":
        emit(tail)
    facts = {
        "constrained": True,
        "grammar": run.grammars[-1],
        **({"grammars": run.grammars} if len(run.grammars) > 1 else {}),
        "grammar_kind": grammar.kind,
        "grammar_name": grammar.name,
        "grammar_end": run.end,
        "grammar_complete": run.c.is_accepting(),
        **({"grammar_error": run.c.error[:1000]} if run.c.error else {}),
        "forced_tokens": run.forced,
        "choices": run.choices,
        "constraint_s": round(run.constraint_s, 4),
        "choice_s": round(run.choice_s, 4),
    }
    return finished(begun, run, text=run.text.text, length=run.end == "length", facts=facts)
