"""The bridge to llguidance: a tokenizer wrapper cached per tokenizer, and :class:`Matcher`.

A :class:`Matcher` follows one grammar token by token: ``allowed_mask()`` says which tokens may
come next (a numpy bool array over the model's vocabulary, unpacked from llguidance's bitmask with
numpy; ``llguidance.torch`` is avoided because it runs ``torch.compile`` on first use),
``consume(token)`` advances, ``is_done()`` says the grammar is complete. The program decoder builds
a new one for every line.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

from ...deps import require
from ...errors import ConfigurationError, EngineError

__all__ = ["GrammarError", "Matcher", "byte_masks", "tokenizer_bridge"]

_BRIDGES: dict[tuple[int, int], tuple[Any, Any]] = {}
_LOCK = threading.Lock()


class GrammarError(EngineError):
    """A generated grammar was rejected by llguidance (a bug in the grammar builder)."""


def _llguidance() -> Any:
    return require("llguidance", extra="all", purpose="Constrained decoding")


def tokenizer_bridge(tokenizer: Any, n_vocab: int | None = None) -> Any:
    """The ``llguidance.LLTokenizer`` of a Hugging Face fast tokenizer, built once (0.3-0.6 s
    for a 49k vocabulary) and cached per tokenizer object and vocabulary size.

    ``n_vocab`` should be the model's vocabulary size (logits width), which may be larger than
    the tokenizer's (padded vocabularies).
    """
    n_vocab = int(n_vocab or len(tokenizer))
    key = (id(tokenizer), n_vocab)
    with _LOCK:
        entry = _BRIDGES.get(key)
        if entry is not None:
            ref, bridge = entry
            if ref() is tokenizer:
                return bridge
        hf = require("llguidance.hf", extra="all", purpose="Constrained decoding")
        try:
            bridge = hf.from_tokenizer(tokenizer, n_vocab=n_vocab)
        except ValueError as e:
            raise ConfigurationError(
                f"Constrained decoding needs a fast tokenizer: {e}",
                hint="Load the model's tokenizer with use_fast=True, or generate without a constraint.",
            ) from e
        try:
            ref = weakref.ref(tokenizer)
        except TypeError:  # not weak-referenceable: keep it alive with the bridge
            ref = (lambda t: (lambda: t))(tokenizer)
        _BRIDGES[key] = (ref, bridge)
        for k in [k for k, (r, _) in _BRIDGES.items() if r() is None]:
            del _BRIDGES[k]
        return bridge


_BYTE_MASKS: dict[tuple[int, tuple[bytes, ...]], tuple[Any, ...]] = {}


def byte_masks(bridge: Any, needles: tuple[bytes, ...]) -> tuple[Any, ...]:
    """For each needle (a group of bytes), a boolean mask over the vocabulary of the tokens whose
    text contains any of its bytes; cached per tokenizer bridge and needles."""
    import numpy as np

    key = (id(bridge), needles)
    if key not in _BYTE_MASKS:
        masks = tuple(np.zeros(bridge.vocab_size, dtype=bool) for _ in needles)
        for i in range(bridge.vocab_size):
            try:
                piece = bytes(bridge.decode_bytes([i]))
            except Exception:  # ids past the tokenizer's vocabulary
                continue
            for mask, needle in zip(masks, needles):
                mask[i] = any(bytes([b]) in piece for b in needle)
        _BYTE_MASKS[key] = masks
    return _BYTE_MASKS[key]


class Matcher:
    """One grammar, followed token by token.

    Parameters
    ----------
    bridge:
        From :func:`tokenizer_bridge`.
    grammar:
        A Lark grammar in llguidance's dialect.
    """

    def __init__(self, bridge: Any, grammar: str) -> None:
        llguidance = _llguidance()
        self.bridge = bridge
        self.grammar = grammar
        self.n_vocab = int(bridge.vocab_size)
        self._matcher = llguidance.LLMatcher(bridge, grammar, log_level=0)
        if self._matcher.is_error():
            raise GrammarError(f"The grammar was rejected: {self._matcher.get_error()}")
        self.tokens: list[int] = []

    # --- asking -------------------------------------------------------------------------------

    def allowed_mask(self) -> Any:
        """A numpy bool array of length ``n_vocab``: True where the token may come next."""
        import numpy as np

        bits = np.frombuffer(self._matcher.compute_bitmask(), dtype=np.uint8)
        return np.unpackbits(bits, bitorder="little")[: self.n_vocab].view(bool)

    def forced_tokens(self) -> list[int]:
        """Tokens the grammar forces now (possibly none)."""
        return list(self._matcher.compute_ff_tokens())

    def forced_bytes(self) -> bytes:
        """Bytes the grammar forces now (may end mid-token)."""
        return bytes(self._matcher.compute_ff_bytes())

    def validate(self, tokens: Sequence[int]) -> int:
        """How many of ``tokens`` could be consumed from here (nothing is consumed)."""
        return int(self._matcher.validate_tokens(list(tokens)))

    def is_accepting(self) -> bool:
        """Whether the grammar is complete here (it may still go on)."""
        return bool(self._matcher.is_accepting())

    def is_done(self) -> bool:
        """Whether nothing but the end may follow (the grammar is complete and cannot go on)."""
        return bool(self._matcher.is_stopped())

    def allows(self, token: int) -> bool:
        return self.validate([token]) == 1

    @property
    def error(self) -> str:
        return self._matcher.get_error() if self._matcher.is_error() else ""

    # --- advancing ----------------------------------------------------------------------------

    def consume(self, token: int) -> None:
        """Advance by one token; raises :class:`GrammarError` if the token is not allowed."""
        if not self._matcher.consume_token(int(token)):
            raise GrammarError(f"Token {token} is not allowed here: {self._matcher.get_error()}")
        self.tokens.append(int(token))

    def consume_many(self, tokens: Sequence[int]) -> None:
        for t in tokens:
            self.consume(t)

    def text(self) -> str:
        """The text consumed so far."""
        return bytes(self.bridge.decode_bytes(self.tokens)).decode("utf-8", errors="replace")
