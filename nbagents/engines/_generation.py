"""The decode loop of local models: prefix KV-cache reuse, streaming text, early stops.

One prompt at a time (batch 1). The loop runs the model itself rather than ``model.generate`` so
that it can (1) start from the KV cache of the longest token prefix shared with the previous
prompt, (2) hand each new piece of text to ``emit`` as soon as it decodes cleanly, and (3) stop on
the very step a stop sequence or an end-of-sequence token appears.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._cache import cache_of, forward

__all__ = ["DecodeResult", "IncrementalDecoder", "NgramDrafter", "PrefixCache", "Sampler", "decode"]

# A hook for constrained decoding: (logits of the next token [1, vocab], tokens so far) -> logits.
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


class PrefixCache:
    """The KV cache of the last prompt, kept for the next one.

    ``take(ids)`` returns a private copy of the cache cropped to the longest token prefix shared
    with the kept prompt (at least one token is always left to run, for its logits) and how many
    tokens it covers. ``keep(ids, cache)`` stores a copy of the cache right after the prompt was
    run. Copies share tensors: a dynamic cache grows by concatenation and crops by slicing, so
    generating on a copy never changes the kept one. Only plain ``DynamicLayer`` caches are kept
    (sliding-window and recurrent caches cannot be cut back to a prefix).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.tokens: tuple[int, ...] = ()
        self._cache: Any = None

    def clear(self) -> None:
        self.tokens, self._cache = (), None

    @staticmethod
    def _fork(cache: Any) -> Any:
        twin = copy.copy(cache)
        twin.layers = [copy.copy(layer) for layer in cache.layers]
        return twin

    @staticmethod
    def reusable(cache: Any) -> bool:
        from transformers.cache_utils import DynamicCache, DynamicLayer

        layers = getattr(cache, "layers", None)
        return (
            type(cache) is DynamicCache
            and bool(layers)
            and all(type(layer) is DynamicLayer for layer in layers)
        )

    def take(self, ids: Sequence[int]) -> tuple[Any, int]:
        if not self.enabled or self._cache is None:
            return None, 0
        n = 0
        for a, b in zip(self.tokens, ids):
            if a != b:
                break
            n += 1
        n = min(n, len(ids) - 1)
        if n <= 0:
            return None, 0
        cache = self._fork(self._cache)
        if len(self.tokens) > n:
            cache.crop(n - len(self.tokens))  # transformers 5 takes the count to remove, negative
        return cache, n

    def keep(self, ids: Sequence[int], cache: Any) -> None:
        if not self.enabled:
            return
        if self.reusable(cache):
            self.tokens, self._cache = tuple(ids), self._fork(cache)
        else:
            self.clear()


@dataclass
class Sampler:
    """Greedy by default; ``do_sample`` draws with temperature, top-k and top-p."""

    do_sample: bool = False
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    generator: Any = None

    def __call__(self, logits: Any) -> int:
        import torch

        if not self.do_sample or self.temperature <= 0:
            return int(logits.argmax(-1))
        logits = logits.float() / self.temperature
        if self.top_k:
            kth = torch.topk(logits, min(self.top_k, logits.shape[-1])).values[..., -1, None]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        if self.top_p is not None and self.top_p < 1.0:
            sorted_p, order = torch.sort(probs, descending=True)
            drop = sorted_p.cumsum(-1) - sorted_p > self.top_p
            sorted_p = sorted_p.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
        return int(torch.multinomial(probs.reshape(-1).cpu(), 1, generator=self.generator))


class NgramDrafter:
    """Draft tokens by prompt lookup: when the last few tokens already appeared earlier (in the
    prompt, the output so far, or the previous call), propose the tokens that followed them.

    The model checks a whole draft in one forward pass and keeps the longest prefix it would have
    chosen itself, so greedy output is unchanged while copied spans (tool names, argument names,
    a re-run cell's answer) cost one pass instead of one per token. The draft length adapts: it
    doubles while drafts are accepted and halves when they are not.
    """

    def __init__(self, max_draft: int = 16, ngram: tuple[int, ...] = (3, 2)) -> None:
        self.max_draft = max_draft
        self.ngram = ngram
        self.length = min(4, max_draft)
        self.proposed = 0
        self.accepted = 0

    def propose(self, context: Sequence[int], limit: int) -> list[int]:
        k = min(self.length, limit)
        if k <= 0:
            return []
        for n in self.ngram:
            if len(context) <= n:
                continue
            tail = list(context[-n:])
            first = tail[0]
            for i in range(len(context) - n - 1, -1, -1):
                if context[i] == first and list(context[i:i + n]) == tail:
                    draft = list(context[i + n:i + n + k])
                    if draft:
                        return draft
        return []

    def update(self, proposed: int, accepted: int) -> None:
        self.proposed += proposed
        self.accepted += accepted
        if accepted == proposed:
            self.length = min(self.max_draft, self.length * 2)
        elif accepted == 0:
            self.length = max(1, self.length // 2)


@dataclass
class DecodeResult:
    tokens: list[int]
    text: str
    finish_reason: str  # "stop" (a stop sequence or end-of-sequence) or "length"
    cached_prefix_tokens: int
    prefill_s: float
    decode_s: float
    forward_passes: int
    draft_tokens_proposed: int = 0
    draft_tokens_accepted: int = 0


def _forward(model: Any, ids: list[int], cache: Any, *, keep_logits: bool) -> Any:
    import torch

    input_ids = torch.tensor([ids], dtype=torch.long, device=model.device)
    kwargs: dict[str, Any] = {"input_ids": input_ids}
    if keep_logits:
        kwargs["logits_to_keep"] = 1
    return forward(model, cache, **kwargs)


def decode(
    model: Any,
    tokenizer: Any,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    eos_ids: set[int],
    emit: Callable[[str], bool],
    prefix_cache: PrefixCache,
    sampler: Sampler,
    logits_hook: LogitsHook | None = None,
    supports_logits_to_keep: bool = True,
    drafter: NgramDrafter | None = None,
    history: Sequence[int] = (),
) -> DecodeResult:
    """Generate up to ``max_new_tokens`` after ``prompt_ids``; stop at EOS or when ``emit`` says a
    stop sequence was produced. Run under ``torch.inference_mode()`` by the caller.

    ``drafter`` (greedy decoding without a logits hook only) drafts from ``history`` (the previous
    call's tokens), the prompt and the output so far.
    """
    started = time.perf_counter()
    prompt_ids = list(prompt_ids)
    cache, reused = prefix_cache.take(prompt_ids)
    out = _forward(model, prompt_ids[reused:], cache, keep_logits=supports_logits_to_keep)
    cache = cache_of(out)
    prefix_cache.keep(prompt_ids, cache)
    passes = 1
    logits = out.logits[:, -1, :]
    prefill_s = time.perf_counter() - started
    if sampler.do_sample or logits_hook is not None or not PrefixCache.reusable(cache):
        drafter = None
    context = [*history, *prompt_ids]

    text = IncrementalDecoder(tokenizer)
    tokens: list[int] = []
    pending: list[int] = []  # accepted draft tokens: already in the cache, not yet handled
    finish, stopped = "length", False
    while len(tokens) < max_new_tokens:
        in_cache = bool(pending)
        if in_cache:
            token = pending.pop(0)
        else:
            if logits_hook is not None:
                logits = logits_hook(logits, tokens)
            token = sampler(logits)
        tokens.append(token)
        context.append(token)
        if token in eos_ids:
            finish = "stop"
            break
        if emit(text.push(token)):
            finish, stopped = "stop", True
            break
        if len(tokens) >= max_new_tokens or in_cache:
            continue  # done, or the next token is known (pending, or from the verified logits)
        draft = drafter.propose(context, max_new_tokens - len(tokens) - 1) if drafter else []
        out = _forward(model, [token, *draft], cache, keep_logits=False)
        cache = cache_of(out)
        passes += 1
        if not draft:
            logits = out.logits[:, -1, :]
            continue
        chosen = out.logits[0].argmax(-1).tolist()  # what the model picks after each fed token
        accepted = 0
        while accepted < len(draft) and chosen[accepted] == draft[accepted]:
            accepted += 1
        if accepted < len(draft):
            cache.crop(accepted - len(draft))  # drop the rejected draft tokens
        drafter.update(len(draft), accepted)
        pending = draft[:accepted]
        logits = out.logits[:, accepted, :]
    tail = text.flush()  # a character held back as incomplete
    if not stopped:
        emit(tail)
    return DecodeResult(
        tokens=tokens,
        text=text.text,
        finish_reason=finish,
        cached_prefix_tokens=reused,
        prefill_s=prefill_s,
        decode_s=time.perf_counter() - started - prefill_s,
        forward_passes=passes,
        draft_tokens_proposed=drafter.proposed if drafter else 0,
        draft_tokens_accepted=drafter.accepted if drafter else 0,
    )
