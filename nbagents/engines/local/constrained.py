"""What the constrained decoders share: :class:`ConstrainedDecoder`.

Per step a constrained decoder feeds the tokens the grammar forces (llguidance fast-forward) in
one forward pass, or scores a few candidate strings whole at a choice point (:mod:`.choice`), or
masks the logits to what the grammar allows and lets the sampler pick (:meth:`Decoder.pick
<nbagents.engines.local.decoding.Decoder.pick>`, the step of every loop).
:class:`~.program.ProgramDecoder` writes a tool program line by line;
:class:`~.guided.GuidedDecoder` follows one grammar (in segments).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .choice import can_score, choice_record, score_candidates
from .decoding import Decoder, ModelState
from .matcher import Matcher, tokenizer_bridge

__all__ = ["ConstrainedDecoder"]

log = logging.getLogger("nbagents")


class ConstrainedDecoder(Decoder):
    """A decoder under a grammar: the :class:`~.matcher.Matcher` of the current grammar (``c``),
    the grammars so far, forced tokens, candidate scoring, and the time spent in llguidance
    (``constraint_s``) and in scoring (``choice_s``).

    The tokenizer's llguidance bridge is built (once per tokenizer, then cached) on construction,
    after the prefill, for the model's vocabulary width. Subclasses implement :meth:`push`,
    :meth:`step` and :meth:`finish`.
    """

    def __init__(self, state: ModelState, tokenizer: Any, *, max_new_tokens: int,
                 emit: Callable[[str], bool], eos_ids: set[int], sampler: Callable[[Any], int] | None) -> None:
        t = time.perf_counter()
        self.bridge = tokenizer_bridge(tokenizer, n_vocab=state.n_vocab)
        self.bridge_s = time.perf_counter() - t
        super().__init__(state, tokenizer, max_new_tokens=max_new_tokens, emit=emit,
                         eos_ids=set(eos_ids) | {int(self.bridge.eos_token)}, sampler=sampler)
        self.grammars: list[str] = []
        self.c: Matcher | None = None
        self.forced = 0
        self.constraint_s = 0.0
        self.choice_s = 0.0
        self._tokenized: dict[str, list[int]] = {}

    def open_grammar(self, grammar: str) -> None:
        """Follow ``grammar`` from here."""
        t = time.perf_counter()
        self.c = Matcher(self.bridge, grammar)
        self.constraint_s += time.perf_counter() - t
        self.grammars.append(grammar)

    def consume(self, tokens: Sequence[int], *, feed: bool) -> bool:
        """Take ``tokens`` (``feed``: the model has not seen them yet) and stream their text;
        True when a stop sequence was streamed."""
        t = time.perf_counter()
        self.c.consume_many(tokens)
        self.constraint_s += time.perf_counter() - t
        self.tokens.extend(int(x) for x in tokens)
        if feed:
            self.m.feed(tokens)
        return self.stream(tokens)

    def force(self) -> bool:
        """Push the tokens the grammar forces (within the budget); False when there are none."""
        t = time.perf_counter()
        forced = self.c.forced_tokens()
        self.constraint_s += time.perf_counter() - t
        if not forced:
            return False
        forced = forced[: self.budget()]
        self.forced += len(forced)
        self.push(forced)
        return True

    def push(self, tokens: Sequence[int], *, feed: bool = True) -> None:  # pragma: no cover - abstract
        """Take ``tokens`` and move on when the grammar is complete."""
        raise NotImplementedError

    def masked_pick(self, bias: Callable[[Any], Any] | None = None) -> tuple[int, bool]:
        """The sampler's token under the grammar's mask (and ``bias(mask)``, a numpy bias over
        the vocabulary, or None), and whether the grammar allows it."""
        logits = self.m.logits()
        t = time.perf_counter()
        mask = self.c.allowed_mask()
        shift = bias(mask) if bias is not None else None
        self.constraint_s += time.perf_counter() - t
        token = self.pick(logits, mask=mask, bias=shift)
        return token, bool(mask[token]) if token < mask.shape[0] else False

    def continuation(self, text: str) -> list[int] | None:
        """The tokens that write ``text`` from here, as the grammar allows them: the tokenizer's
        own tokenization (cached), else llguidance's; None when the grammar allows neither."""
        if text not in self._tokenized:
            self._tokenized[text] = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        for ids in (self._tokenized[text], list(self.bridge.tokenize_str(text))):
            if ids and self.c.validate(ids) == len(ids):
                return ids
        return None

    def choose(self, candidates: list[tuple[str, list[int]]],
               prior: Mapping[str, float]) -> tuple[str, dict[str, Any]] | None:
        """Push one of ``candidates`` (name, tokens): the only one, or the best scored whole in one
        batched pass (plus ``prior``); return its name with the record of the scores. None (the
        masked sampler picks then) when there is none, one is longer than the budget, or they
        cannot be scored here."""
        if not candidates or max(len(ids) for _, ids in candidates) > self.budget():
            return None
        logits = self.m.logits()
        if len(candidates) == 1:
            name, ids = candidates[0]
            self.push(ids)
            return name, {"scores": {}}
        if not can_score(self.m.cache):
            return None
        t = time.perf_counter()
        try:
            choice = score_candidates(self.m.model, self.m.cache, logits, [ids for _, ids in candidates],
                                      bonus=[prior.get(n, 0.0) for n, _ in candidates])
        except Exception:  # an attention kernel without custom masks: let the masked sampler pick
            log.debug("Scoring candidates failed; picking greedily.", exc_info=True)
            return None
        finally:
            self.choice_s += time.perf_counter() - t
        self.m.passes += choice.forward_passes
        name, ids = candidates[choice.index]
        self.m.adopt(choice.cache, choice.logits)
        self.push(ids, feed=False)
        return name, choice_record([n for n, _ in candidates], choice.scores, prior)

    def facts(self) -> dict[str, Any]:
        """``constrained: True``, forced tokens and the time spent in llguidance; subclasses add
        theirs."""
        return {"constrained": True, "forced_tokens": self.forced,
                "constraint_s": round(self.constraint_s, 4),
                "tokenizer_bridge_s": round(self.bridge_s, 4)}
