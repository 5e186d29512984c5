"""How the next token is picked (:class:`Sampler`) and drafted (:class:`NgramDrafter`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["NgramDrafter", "Sampler"]


@dataclass
class Sampler:
    """Greedy by default; ``do_sample`` draws with temperature, top-k and top-p."""

    do_sample: bool = False
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    generator: Any = None

    @classmethod
    def of(cls, sampling: Any, *, do_sample: bool = False) -> Sampler:
        """The sampler of a call's :class:`~nbagents.engines.base.Sampling` (``None`` fields: the
        engine's ``do_sample``, temperature 1.0); ``seed`` makes sampling repeatable."""
        given = sampling.merged_over({"do_sample": do_sample, "temperature": 1.0})
        generator = None
        if given.get("seed") is not None:
            import torch

            generator = torch.Generator().manual_seed(int(given["seed"]))
        return cls(do_sample=bool(given["do_sample"]), temperature=float(given["temperature"]),
                   top_k=given.get("top_k"), top_p=given.get("top_p"), generator=generator)

    @property
    def greedy(self) -> bool:
        """Whether it always picks the most likely token."""
        return not self.do_sample or self.temperature <= 0

    def __call__(self, logits: Any) -> int:
        import torch

        if self.greedy:
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
