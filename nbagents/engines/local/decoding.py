"""The decode loop of local models: one prefill, one step loop, one result.

One prompt at a time (batch 1). The loop runs the model itself rather than ``model.generate`` so
that it can (1) start from the KV cache of the longest token prefix shared with the previous
prompt, (2) hand each new piece of text to ``emit`` as soon as it decodes cleanly, (3) stop on
the very step a stop sequence or an end-of-sequence token appears, and (4) follow a grammar.

:func:`prefill` runs the prompt into a :class:`ModelState`; a :class:`Decoder` then advances by
:meth:`~Decoder.step` until it is done and :func:`run` returns the one result type,
:class:`Decoded`. Every decoder picks its tokens with :meth:`Decoder.pick` (the logits, an optional
mask and bias, the sampler). :class:`FreeDecoder` is the unconstrained loop (with prompt-lookup
drafting); the constrained decoders (:mod:`.program`, :mod:`.guided`) build on
:class:`~.constrained.ConstrainedDecoder`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cache import PrefixCache, cache_of, forward, is_plain_dynamic, start_cache
from .sampling import NgramDrafter

__all__ = [
    "Decoded",
    "Decoder",
    "FreeDecoder",
    "IncrementalDecoder",
    "LogitsHook",
    "ModelState",
    "Prefill",
    "add_bias",
    "apply_mask",
    "prefill",
    "run",
]

# A hook on the free loop's logits: (logits of the next token [1, vocab], tokens so far) -> logits.
LogitsHook = Callable[[Any, Sequence[int]], Any]


class IncrementalDecoder:
    """Turns a growing list of token ids into new text pieces.

    Decoding token by token breaks characters split across byte-level tokens and the spacing of
    merged tokens, so the whole generated sequence is decoded each time and only the new suffix is
    returned; a trailing U+FFFD (an incomplete UTF-8 character) is held back until it completes.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.tokens: list[int] = []
        self.text = ""  # the text returned so far

    def _decode(self) -> str:
        return self.tokenizer.decode(
            self.tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )

    def push(self, token: int) -> str:
        self.tokens.append(int(token))
        full = self._decode()
        if full.endswith("\ufffd"):
            return ""
        return self._advance(full)

    def flush(self) -> str:
        return self._advance(self._decode())

    def _advance(self, full: str) -> str:
        if full.startswith(self.text):
            piece = full[len(self.text):]
        else:  # the tokenizer re-spaced earlier text; never take back what was shown
            common = 0
            for a, b in zip(full, self.text):
                if a != b:
                    break
                common += 1
            piece = full[max(common, len(self.text)):]
        self.text += piece
        return piece


def apply_mask(logits: Any, mask: Any) -> Any:
    """Set the logits of disallowed tokens to ``-inf`` in place (``logits``: torch ``[1, V]`` or
    ``[V]``; ``mask``: numpy bool array, shorter than ``V`` when the model's vocabulary is padded)."""
    import torch

    row = logits.view(-1)
    allowed = torch.zeros(row.shape[0], dtype=torch.bool, device=row.device)
    n = min(row.shape[0], mask.shape[0])
    allowed[:n] = torch.from_numpy(mask[:n]).to(row.device)
    row.masked_fill_(~allowed, float("-inf"))
    return logits


def add_bias(logits: Any, bias: Any) -> None:
    """Add a numpy bias over the vocabulary to ``logits`` in place ([1, V]; the sizes may differ)."""
    import torch

    bias = torch.from_numpy(bias).to(logits.device)
    n = min(bias.shape[0], logits.shape[-1])
    logits.view(-1)[:n] += bias[:n].to(logits.dtype)


class ModelState:
    """The model's side of a generation: the KV cache, the tokens fed but not run yet, the
    next-token logits, and the forward passes run since the prefill.

    A forward pass runs only when the next logits are needed (:meth:`logits`), so tokens fed
    together (a grammar's forced tokens) cost one pass and the last token of an answer none.
    """

    def __init__(self, model: Any, cache: Any, logits: Any, *, keep_logits: bool) -> None:
        self.model = model
        self.cache = cache
        self._logits = logits
        self.pending: list[int] = []
        self.passes = 0
        self.keep_logits = keep_logits

    @property
    def n_vocab(self) -> int:
        """The width of the logits (the model's vocabulary, possibly padded)."""
        return int(self._logits.shape[-1])

    def feed(self, tokens: Sequence[int]) -> None:
        self.pending.extend(int(t) for t in tokens)

    def _run(self, ids: list[int], *, keep_logits: bool) -> Any:
        import torch

        input_ids = torch.tensor([ids], dtype=torch.long, device=getattr(self.model, "device", "cpu"))
        kwargs: dict[str, Any] = {"input_ids": input_ids}
        if keep_logits:
            kwargs["logits_to_keep"] = 1
        out = forward(self.model, self.cache, **kwargs)
        self.cache = cache_of(out)
        self.pending = []
        self.passes += 1
        return out

    def logits(self) -> Any:
        """The next-token logits ``[1, V]`` (running the fed tokens first)."""
        if self.pending:
            self._logits = self._run(self.pending, keep_logits=self.keep_logits).logits[:, -1, :]
        return self._logits

    def verify(self, draft: Sequence[int]) -> int:
        """Run the fed tokens and ``draft`` in one pass and keep the longest prefix of the draft
        that greedy decoding would have picked itself; return its length (the rest is cut from
        the cache, and :meth:`logits` are those after the kept prefix)."""
        fed = len(self.pending)
        out = self._run([*self.pending, *draft], keep_logits=False)
        chosen = out.logits[0].argmax(-1).tolist()  # what the model picks after each fed token
        accepted = 0
        while accepted < len(draft) and chosen[fed - 1 + accepted] == draft[accepted]:
            accepted += 1
        if accepted < len(draft):
            self.cache.crop(accepted - len(draft))  # drop the rejected draft tokens
        self._logits = out.logits[:, fed - 1 + accepted, :]
        return accepted

    def adopt(self, cache: Any, logits: Any) -> None:
        """Take a cache and logits computed elsewhere (after a scored candidate)."""
        self.cache, self._logits, self.pending = cache, logits, []


@dataclass
class Prefill:
    """A generation after its prefill: the model state and what the prefill cost."""

    state: ModelState
    reused: int  # prompt tokens that came from a cache
    started: float
    prefill_s: float


def prefill(model: Any, prompt_ids: Sequence[int], *, prefix_cache: PrefixCache | None = None,
            past_key_values: Any = None, keep_logits: bool = True) -> Prefill:
    """Run the prompt, from the longest cached prefix: the engine's ``prefix_cache`` (which then
    keeps this prompt's cache), or ``past_key_values``, a KV cache of a prefix of the prompt (its
    length says how many tokens). ``keep_logits``: the model takes ``logits_to_keep``. Without a
    cached prefix the cache is the model's own, or a plain one (:func:`~.cache.start_cache`)."""
    started = time.perf_counter()
    prompt_ids = [int(t) for t in prompt_ids]
    reused = 0
    cache = past_key_values
    if prefix_cache is not None:
        cache, reused = prefix_cache.take(prompt_ids)
    elif cache is not None:
        reused = min(int(cache.get_seq_length()), len(prompt_ids) - 1)
        if cache.get_seq_length() > reused:
            cache.crop(reused - int(cache.get_seq_length()))
    if cache is None:
        cache = start_cache(model)
    state = ModelState(model, cache, None, keep_logits=keep_logits)
    state.feed(prompt_ids[reused:])
    state.logits()
    state.passes = 0  # the prefill is not a decoding pass
    if prefix_cache is not None:
        prefix_cache.keep(prompt_ids, state.cache)
    return Prefill(state, reused, started, time.perf_counter() - started)


@dataclass
class Decoded:
    """What a generation returns.

    ``facts`` are the decoder's facts for the Run (a constrained one: ``constrained: True``, the
    grammars, how the answer ended...); the free loop has none.
    """

    tokens: list[int]
    text: str
    finish_reason: str  # "stop" (a stop sequence or end-of-sequence) or "length"
    cached_prefix_tokens: int
    prefill_s: float
    decode_s: float
    forward_passes: int
    draft_tokens_proposed: int = 0
    draft_tokens_accepted: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


class Decoder:
    """One generation after the prefill: the model state, the tokens and the streamed text, the
    budget, and the step every loop shares (:meth:`pick`). Subclasses implement :meth:`step`
    and :meth:`finish`."""

    def __init__(self, state: ModelState, tokenizer: Any, *, max_new_tokens: int,
                 emit: Callable[[str], bool], eos_ids: set[int], sampler: Callable[[Any], int] | None) -> None:
        self.m = state
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.emit = emit
        self.eos_ids = set(eos_ids)
        self.sampler = sampler
        self.text = IncrementalDecoder(tokenizer)
        self.tokens: list[int] = []
        self.stopped = False  # a stop sequence was streamed

    def budget(self) -> int:
        return self.max_new_tokens - len(self.tokens)

    def pick(self, logits: Any, *, mask: Any = None, bias: Any = None) -> int:
        """The next token: the logits (``[1, V]``), masked to ``mask`` and shifted by ``bias``
        (numpy arrays over the vocabulary; the logits are copied first), picked by the sampler
        (greedy without one)."""
        if mask is not None or bias is not None:
            logits = logits.clone()
            if mask is not None:
                apply_mask(logits, mask)
            if bias is not None:
                add_bias(logits, bias)
        return int(self.sampler(logits)) if self.sampler is not None else int(logits.argmax(-1))

    def flush(self) -> None:
        """Stream the character held back as incomplete, unless a stop sequence was streamed."""
        tail = self.text.flush()
        if tail and not self.stopped:
            self.emit(tail)

    def stream(self, tokens: Sequence[int]) -> bool:
        """Hand the text of ``tokens`` to ``emit``; True when a stop sequence was streamed."""
        stopped = False
        for tok in tokens:
            stopped = bool(self.emit(self.text.push(tok))) or stopped
        return stopped

    def step(self) -> bool:  # pragma: no cover - abstract
        """Advance by at least one token; False once the answer is finished."""
        raise NotImplementedError

    def finish(self) -> tuple[str, str]:  # pragma: no cover - abstract
        """Stream what is left; the answer's text and its finish reason."""
        raise NotImplementedError

    def facts(self) -> dict[str, Any]:
        """Facts for the Run."""
        return {}

    @property
    def drafted(self) -> tuple[int, int]:
        """Draft tokens proposed and accepted."""
        return 0, 0


class FreeDecoder(Decoder):
    """Unconstrained decoding: the sampler picks from the logits (through ``logits_hook`` when
    given); greedy decoding without a hook drafts with ``drafter`` from ``context`` (the previous
    call's tokens and the prompt) and the output so far."""

    def __init__(self, state: ModelState, tokenizer: Any, *, max_new_tokens: int,
                 emit: Callable[[str], bool], eos_ids: set[int], sampler: Callable[[Any], int] | None,
                 logits_hook: LogitsHook | None = None, drafter: NgramDrafter | None = None,
                 context: Sequence[int] = ()) -> None:
        super().__init__(state, tokenizer, max_new_tokens=max_new_tokens, emit=emit, eos_ids=eos_ids,
                         sampler=sampler)
        sampling = sampler is not None and getattr(sampler, "do_sample", True)
        if sampling or logits_hook is not None or not is_plain_dynamic(state.cache):
            drafter = None
        self.logits_hook = logits_hook
        self.drafter = drafter
        self.context = list(context)
        self.ready: list[int] = []  # accepted draft tokens: already in the cache, not yet handled
        self.finish_reason = "length"

    def step(self) -> bool:
        if self.budget() <= 0:
            return False
        in_cache = bool(self.ready)
        if in_cache:
            token = self.ready.pop(0)
        else:
            logits = self.m.logits()
            if self.logits_hook is not None:
                logits = self.logits_hook(logits, self.tokens)
            token = self.pick(logits)
        self.tokens.append(token)
        self.context.append(token)
        if token in self.eos_ids:
            self.finish_reason = "stop"
            return False
        if self.emit(self.text.push(token)):
            self.finish_reason, self.stopped = "stop", True
            return False
        if in_cache:
            return True  # the model has seen it; the next token comes from the verified logits
        self.m.feed([token])
        left = self.budget()
        draft = self.drafter.propose(self.context, left - 1) if self.drafter and left > 0 else []
        if draft:
            accepted = self.m.verify(draft)
            self.drafter.update(len(draft), accepted)
            self.ready = draft[:accepted]
        return True

    def finish(self) -> tuple[str, str]:
        self.flush()
        return self.text.text, self.finish_reason

    @property
    def drafted(self) -> tuple[int, int]:
        return (self.drafter.proposed, self.drafter.accepted) if self.drafter else (0, 0)


def run(decoder: Decoder, begun: Prefill) -> Decoded:
    """Step ``decoder`` (started on ``begun``'s state) to the end; the result."""
    while decoder.step():
        pass
    text, finish_reason = decoder.finish()
    facts = decoder.facts()
    proposed, accepted = decoder.drafted
    return Decoded(
        tokens=decoder.tokens,
        text=text,
        finish_reason=finish_reason,
        cached_prefix_tokens=begun.reused,
        prefill_s=begun.prefill_s,
        decode_s=time.perf_counter() - begun.started - begun.prefill_s,
        forward_passes=1 + begun.state.passes,
        draft_tokens_proposed=proposed,
        draft_tokens_accepted=accepted,
        facts=facts,
    )
