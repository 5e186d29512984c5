"""The engine side of constrained decoding: :func:`generate_program` runs a local model under a
:class:`~nbagents.constrain.program.ProgramSpec`, one grammar per line.

Per step: forced tokens (llguidance fast-forward) are fed in one forward pass; at a line's tool
position every allowed ``tool(`` is scored at once (:mod:`.choice`); elsewhere the logits are
masked to what the grammar allows and the engine's sampler (greedy by default) picks. A forward
pass runs only when the next logits are needed, so the last token of a program costs none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engines._cache import cache_of, forward
from ..relevance import choice_prior
from .choice import can_score, choice_record, score_candidates
from .grammar import explanation_grammar
from .matcher import Constraint, apply_mask, byte_masks, tokenizer_bridge
from .program import ProgramBuilder, ProgramSpec

__all__ = ["ProgramResult", "generate_program"]

log = logging.getLogger("nbagents")

_CLOSERS = (b'"', b")", b"]", b"}", b"\n")
_OPENERS = (b"(", b"[", b"{")


@dataclass
class ProgramResult:
    """What :func:`generate_program` returns; the fields of the engine's ``DecodeResult`` plus
    ``facts`` for the Run (``constrained: True``, the grammars, the end reason...)."""

    tokens: list[int]
    text: str
    finish_reason: str
    cached_prefix_tokens: int
    prefill_s: float
    decode_s: float
    forward_passes: int
    draft_tokens_proposed: int = 0
    draft_tokens_accepted: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


def _closing_masks(bridge: Any) -> tuple[Any, Any, Any]:
    """Tokens whose text contains a closing quote, bracket or newline, tokens that open a
    bracket, and tokens with a newline (cached per tokenizer bridge)."""
    return byte_masks(bridge, (b"".join(_CLOSERS), b"".join(_OPENERS), b"\n"))


class _Model:
    """The model's side: the KV cache, the pending tokens and the next-token logits."""

    def __init__(self, model: Any, cache: Any, logits: Any, *, keep_logits: bool) -> None:
        self.model = model
        self.cache = cache
        self._logits = logits
        self.pending: list[int] = []
        self.passes = 0
        self.keep_logits = keep_logits

    def feed(self, tokens: Sequence[int]) -> None:
        self.pending.extend(int(t) for t in tokens)

    def logits(self) -> Any:
        if self.pending:
            import torch

            ids = torch.tensor([self.pending], dtype=torch.long, device=self._device())
            kwargs: dict[str, Any] = {"input_ids": ids}
            if self.keep_logits:
                kwargs["logits_to_keep"] = 1
            out = forward(self.model, self.cache, **kwargs)
            self.cache = cache_of(out)
            self._logits = out.logits[:, -1, :]
            self.pending = []
            self.passes += 1
        return self._logits

    def adopt(self, cache: Any, logits: Any) -> None:
        self.cache, self._logits, self.pending = cache, logits, []

    def _device(self) -> Any:
        return getattr(self.model, "device", "cpu")


class _Decoder:
    """What both constrained loops share: the model state, the constraint of the current
    grammar (``c``), the tokens and text so far, forced tokens, masked picking, and timings.
    :class:`_Run` writes a program line by line; :class:`~nbagents.constrain.guided._Guided`
    follows one grammar (in segments)."""

    def __init__(self, model: _Model, tokenizer: Any, bridge: Any, *, max_new_tokens: int,
                 emit: Callable[[str], bool], eos_ids: set[int], sampler: Callable[[Any], int] | None) -> None:
        from ..engines._generation import IncrementalDecoder

        self.m = model
        self.tokenizer = tokenizer
        self.bridge = bridge
        self.max_new_tokens = max_new_tokens
        self.emit = emit
        self.eos_ids = set(eos_ids) | {int(bridge.eos_token)}
        self.sampler = sampler
        self.text = IncrementalDecoder(tokenizer)
        self.tokens: list[int] = []
        self.grammars: list[str] = []
        self.c: Constraint | None = None
        self.forced = 0
        self.constraint_s = 0.0
        self.choice_s = 0.0

    def _open(self, grammar: str) -> None:
        t = time.perf_counter()
        self.c = Constraint(self.bridge, grammar)
        self.constraint_s += time.perf_counter() - t
        self.grammars.append(grammar)

    def budget(self) -> int:
        return self.max_new_tokens - len(self.tokens)

    def _consume(self, tokens: Sequence[int], *, feed: bool) -> bool:
        """Take ``tokens`` (``feed``: the model has not seen them yet) and stream their text;
        True when a stop sequence was streamed."""
        t = time.perf_counter()
        self.c.consume_many(tokens)
        self.constraint_s += time.perf_counter() - t
        self.tokens.extend(int(x) for x in tokens)
        if feed:
            self.m.feed(tokens)
        stopped = False
        for tok in tokens:
            stopped = bool(self.emit(self.text.push(tok))) or stopped
        return stopped

    def _force(self) -> bool:
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
        raise NotImplementedError

    def _take_best(self, logits: Any, candidates: list[tuple[str, list[int]]],
                   prior: Mapping[str, float]) -> tuple[str, dict[str, Any]] | None:
        """Score the candidates whole in one batched pass (plus ``prior``), push the best and
        return its name with the record of the scores; None when they cannot be scored here."""
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

    def _pick(self, logits: Any, mask: Any) -> tuple[int, bool]:
        """The sampler's (or the greedy) token from masked logits, and whether the grammar allows it."""
        token = int(self.sampler(logits)) if self.sampler is not None else int(logits.argmax(-1))
        return token, bool(mask[token]) if token < mask.shape[0] else False


def _add_bias(logits: Any, bias: Any) -> None:
    """Add a numpy bias over the vocabulary to ``logits`` ([1, V]; the sizes may differ)."""
    import torch

    bias = torch.from_numpy(bias).to(logits.device)
    n = min(bias.shape[0], logits.shape[-1])
    logits.view(-1)[:n] += bias[:n].to(logits.dtype)


class _Run(_Decoder):
    """One constrained generation."""

    def __init__(self, model: _Model, tokenizer: Any, bridge: Any, spec: ProgramSpec, *,
                 max_new_tokens: int, emit: Callable[[str], bool], eos_ids: set[int],
                 sampler: Callable[[Any], int] | None, stop: Sequence[str] = ()) -> None:
        super().__init__(model, tokenizer, bridge, max_new_tokens=max_new_tokens, emit=emit, eos_ids=eos_ids,
                         sampler=sampler)
        self.spec = spec
        self.builder = ProgramBuilder(spec, forbid=stop)
        self.phase = "explanation"
        self.tried_choice = False
        self.line_budget = max_new_tokens
        self.stopped = False  # a stop sequence was streamed
        self.length = False
        self.tool_choices: list[dict[str, Any]] = []
        self._tokenized: dict[str, list[int]] = {}

    # --- grammar per phase ----------------------------------------------------------------------

    def _start(self, grammar: str) -> None:
        self._open(grammar)
        self.tried_choice = False

    def start(self) -> None:
        if self.spec.explanation or self.spec.explanation_prefix:
            self._start(explanation_grammar(self.builder.forbid, self.spec.explanation_prefix))
        else:
            self._start('start: "```py\\n"\n')

    def _next_line(self) -> None:
        self.phase = "line"
        self.line_budget = self.budget()
        self._start(self.builder.grammar())

    def _line_complete(self) -> None:
        """The constraint is done: close the phase and start the next one (or end)."""
        text = self.c.text()
        if self.phase == "explanation":
            self.builder.explanation = text.split("```", 1)[0].rstrip("\n")
            self._next_line()
            return
        if self.builder.accept(text):
            self._next_line()

    # --- the loop ---------------------------------------------------------------------------------

    def push(self, tokens: Sequence[int], *, feed: bool = True) -> None:
        if self._consume(tokens, feed=feed):
            self.stopped = True
        t = time.perf_counter()
        done = self.c.is_done()
        self.constraint_s += time.perf_counter() - t
        if done:
            self._line_complete()

    def step(self) -> bool:
        """Advance by at least one token; False once the program is finished."""
        if self.builder.done or self.stopped:
            return False
        c = self.c
        if self.budget() <= 0:
            self._out_of_budget()
            return False
        if self.phase == "line" and not c.tokens and self.budget() < 10:
            self.builder.end("length")  # no room for another line
            self.length = True
            return False
        if self._force():
            return True
        if self._choose_tool():
            return True
        logits = self.m.logits().clone()
        t = time.perf_counter()
        mask = c.allowed_mask()
        apply_mask(logits, mask)
        if self._closing():  # prefer closing quotes, brackets and the newline; avoid opening
            closers, openers, newlines = _closing_masks(self.bridge)
            if self.phase == "explanation":
                closers = newlines
            _add_bias(logits, (closers & mask) * 1e4 - (openers & mask) * 1e3)
        self.constraint_s += time.perf_counter() - t
        token, allowed = self._pick(logits, mask)
        if token in self.eos_ids or not allowed:
            if c.is_accepting() and self.phase == "line":
                self.tokens.append(token)
                self.builder.end("eos")
            else:  # cannot happen with a mask that allows something; end rather than loop
                self.builder.end("stuck")
            return False
        self.push([token])
        return True

    def _closing(self) -> bool:
        """Past a line's share of the budget, prefer tokens that close it: the explanation gets
        a quarter of the budget (at most 48 tokens), a line half of what was left at its start
        (at most ``max_line_tokens``)."""
        c = self.c
        if self.phase == "explanation":
            return len(c.tokens) >= min(48, max(8, self.max_new_tokens // 4))
        share = min(self.spec.max_line_tokens, max(8, self.line_budget // 2))
        return len(c.tokens) >= share or self.budget() <= 8

    def _out_of_budget(self) -> None:
        self.length = True
        self.builder.end("length")

    # --- tool choice ------------------------------------------------------------------------------

    def _tokenize(self, text: str) -> list[int]:
        if text not in self._tokenized:
            self._tokenized[text] = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return self._tokenized[text]

    def _candidates(self, line: str) -> list[tuple[str, list[int]]]:
        head = self.builder.tool_head
        out = []
        for name in self.builder.line_tools():
            full = head + name + "("
            if not full.startswith(line) or len(line) >= len(full):
                continue
            rest = full[len(line):]
            for ids in (self._tokenize(rest), list(self.bridge.tokenize_str(rest))):
                if ids and self.c.validate(ids) == len(ids):
                    out.append((name, ids))
                    break
        return out

    def _choose_tool(self) -> bool:
        if (self.phase != "line" or self.spec.rich or not self.spec.choose_tools or self.tried_choice):
            return False
        c = self.c
        line = c.text()
        head = self.builder.tool_head
        if len(line) < len(self.spec.result_name) or not (head.startswith(line) or line.startswith(head)):
            return False
        self.tried_choice = True
        t = time.perf_counter()
        candidates = self._candidates(line)
        self.constraint_s += time.perf_counter() - t
        if not candidates or max(len(ids) for _, ids in candidates) > self.budget():
            return False
        logits = self.m.logits()
        if len(candidates) == 1:
            name, ids = candidates[0]
            self.tool_choices.append({"line": len(self.builder.lines), "chosen": name, "scores": {}})
            self.push(ids)
            return True
        line = len(self.builder.lines)
        taken = self._take_best(logits, candidates,
                                choice_prior(self.spec.tool_prior, self.spec.expected_tools, self.builder.calls))
        if taken is None:
            return False
        self.tool_choices.append({"line": line, "chosen": taken[0], **taken[1]})
        return True

    # --- the result ---------------------------------------------------------------------------

    def finish(self) -> str:
        if not self.builder.done:
            self.builder.end("length" if self.length else "stop")
        final = self.builder.render()
        shown = self.text.flush()
        if shown and not self.stopped:
            self.emit(shown)
        streamed = self.text.text
        common = 0
        for a, b in zip(final, streamed):
            if a != b:
                break
            common += 1
        if not self.stopped:  # stream the closing fence (or whatever the rendering added)
            tail = final[common:] if common == len(streamed) else "\n```"
            if tail:
                self.emit(tail)
        return final


def prefill(model: Any, prompt_ids: Sequence[int], *, prefix_cache: Any = None, past_key_values: Any = None,
            supports_logits_to_keep: bool = True) -> tuple[Any, int]:
    """Run the prompt (from the longest cached prefix): the model output and how many prompt
    tokens came from a cache."""
    import torch

    prompt_ids = [int(t) for t in prompt_ids]
    reused = 0
    cache = past_key_values
    if prefix_cache is not None:
        cache, reused = prefix_cache.take(prompt_ids)
    elif cache is not None:
        reused = min(int(cache.get_seq_length()), len(prompt_ids) - 1)
        if cache.get_seq_length() > reused:
            cache.crop(reused - int(cache.get_seq_length()))
    ids = torch.tensor([prompt_ids[reused:]], dtype=torch.long, device=getattr(model, "device", "cpu"))
    kwargs: dict[str, Any] = {"input_ids": ids}
    if supports_logits_to_keep:
        kwargs["logits_to_keep"] = 1
    out = forward(model, cache, **kwargs)
    if prefix_cache is not None:
        prefix_cache.keep(prompt_ids, cache_of(out))
    return out, reused


@dataclass
class Start:
    """A constrained generation after its prefill: the model state, the tokenizer bridge and what
    the prefill cost."""

    state: _Model
    bridge: Any
    reused: int
    started: float
    prefill_s: float
    bridge_s: float


def start(model: Any, tokenizer: Any, prompt_ids: Sequence[int], *, prefix_cache: Any = None,
          past_key_values: Any = None, supports_logits_to_keep: bool = True) -> Start:
    """Prefill the prompt (from the longest cached prefix) and bridge the tokenizer to llguidance."""
    started = time.perf_counter()
    out, reused = prefill(model, prompt_ids, prefix_cache=prefix_cache, past_key_values=past_key_values,
                          supports_logits_to_keep=supports_logits_to_keep)
    logits = out.logits[:, -1, :]
    prefill_s = time.perf_counter() - started
    t = time.perf_counter()
    bridge = tokenizer_bridge(tokenizer, n_vocab=int(logits.shape[-1]))
    bridge_s = time.perf_counter() - t
    state = _Model(model, cache_of(out), logits, keep_logits=supports_logits_to_keep)
    return Start(state, bridge, reused, started, prefill_s, bridge_s)


def finished(begun: Start, run: _Decoder, *, text: str, length: bool, facts: dict[str, Any]) -> ProgramResult:
    """The result of a constrained generation that started with ``begun`` (the tokenizer
    bridge's time joins ``facts``)."""
    return ProgramResult(
        tokens=run.tokens,
        text=text,
        finish_reason="length" if length else "stop",
        cached_prefix_tokens=begun.reused,
        prefill_s=begun.prefill_s,
        decode_s=time.perf_counter() - begun.started - begun.prefill_s,
        forward_passes=1 + begun.state.passes,
        facts={**facts, "tokenizer_bridge_s": round(begun.bridge_s, 4)},
    )


def generate_program(
    model: Any,
    tokenizer: Any,
    prompt_ids: Sequence[int],
    spec: ProgramSpec,
    *,
    max_new_tokens: int,
    emit: Callable[[str], bool] = lambda piece: False,
    eos_ids: set[int] | Sequence[int] = (),
    prefix_cache: Any = None,
    past_key_values: Any = None,
    sampler: Callable[[Any], int] | None = None,
    stop: Sequence[str] = (),
    supports_logits_to_keep: bool = True,
) -> ProgramResult:
    """Generate a tool program after ``prompt_ids`` under ``spec``. Run it under
    ``torch.inference_mode()`` (and the engine's thread setting).

    Parameters
    ----------
    prefix_cache:
        The engine's ``PrefixCache`` (``take(ids) -> (cache, n)``, ``keep(ids, cache)``); or
    past_key_values:
        A KV cache of a prefix of the prompt to start from (its length says how many tokens).
    emit:
        Called with each new piece of text; a True return (a stop sequence) ends generation.
    sampler:
        Picks a token from masked logits ``[1, V]`` (default: greedy).
    stop:
        The engine's stop sequences: string literals and the explanation may not contain them.

    Returns
    -------
    ProgramResult
        ``text`` is the rendered program: the explanation, then the code in a ```py block.
    """
    begun = start(model, tokenizer, prompt_ids, prefix_cache=prefix_cache, past_key_values=past_key_values,
                  supports_logits_to_keep=supports_logits_to_keep)
    run = _Run(begun.state, tokenizer, begun.bridge, spec, max_new_tokens=max_new_tokens, emit=emit,
               eos_ids=set(eos_ids), sampler=sampler, stop=stop)
    run.start()
    while run.step():
        pass
    text = run.finish()
    b = run.builder
    facts = {
        "constrained": True,
        "grammar": run.grammars[-1] if run.grammars else "",
        "grammars": list(run.grammars),
        "grammar_kind": "rich" if spec.rich else "simple",
        "program_spec": spec.describe(),
        "program_end": b.end_reason,
        "program_lines": len(b.lines),
        "program_calls": list(b.calls),
        "forced_tokens": run.forced,
        "tool_choices": run.tool_choices,
        "constraint_s": round(run.constraint_s, 4),
        "tool_choice_s": round(run.choice_s, 4),
    }
    return finished(begun, run, text=text, length=run.length, facts=facts)
