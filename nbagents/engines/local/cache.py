"""The key/value cache: one forward pass with it, whatever transformers calls it, and the cache
of the last prompt kept for the next one (:class:`PrefixCache`).

transformers 5.x renamed the forward argument and the output field ``past_key_values`` to
``cache`` (the old name is deprecated and goes in 5.40); 4.x knows only ``past_key_values``. Every
hand-written decoding loop in nbagents goes through :func:`forward` and :func:`cache_of`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = [
    "PrefixCache",
    "cache_argument",
    "cache_of",
    "fork",
    "forward",
    "is_plain_dynamic",
    "sliding_window",
    "start_cache",
]

# Layer types whose attention a plain cache holding every key serves exactly: the window of a
# sliding layer is applied by the mask (built from the config), not by the cache dropping keys.
_MASKED_BY_CONFIG = frozenset({"full_attention", "sliding_attention"})


@lru_cache(maxsize=64)
def _argument_of(forward_fn: Any) -> str:
    try:
        params = inspect.signature(forward_fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - a C-level or wrapped forward
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def cache_argument(model: Any) -> str:
    """``"cache"`` when the model's ``forward`` takes it, else ``"past_key_values"``."""
    return _argument_of(type(model).forward)


def forward(model: Any, cache: Any, **kwargs: Any) -> Any:
    """``model(**kwargs)`` with ``cache`` passed under the model's name for it, ``use_cache=True``."""
    kwargs[cache_argument(model)] = cache
    kwargs.setdefault("use_cache", True)
    return model(**kwargs)


def cache_of(output: Any) -> Any:
    """The key/value cache a forward pass returned."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else getattr(output, "past_key_values", None)


def is_plain_dynamic(cache: Any) -> bool:
    """Whether ``cache`` is a plain ``DynamicCache`` of ``DynamicLayer`` layers: one that can be
    cut back to a prefix, forked and extended side by side (not sliding-window or recurrent)."""
    try:
        from transformers.cache_utils import DynamicCache, DynamicLayer
    except ImportError:  # pragma: no cover - a transformers without layered caches
        return False
    layers = getattr(cache, "layers", None)
    return type(cache) is DynamicCache and bool(layers) and all(type(x) is DynamicLayer for x in layers)


def _text_config(model: Any) -> Any:
    config = getattr(model, "config", None)
    get_text = getattr(config, "get_text_config", None)
    if callable(get_text):
        try:
            return get_text(decoder=True)
        except TypeError:  # pragma: no cover - an older signature
            return get_text()
    return config


def sliding_window(model: Any) -> int | None:
    """The window of the model's sliding-window attention layers when its config names them
    (``layer_types`` with ``"sliding_attention"``, ``sliding_window``), else None."""
    config = _text_config(model)
    types = getattr(config, "layer_types", None) or ()
    window = getattr(config, "sliding_window", None)
    if "sliding_attention" not in types or not isinstance(window, int) or window <= 0:
        return None
    return window


def start_cache(model: Any) -> Any:
    """The cache a prompt starts from: None (the model makes its own) unless the model's own
    cache would be a sliding-window one while a plain ``DynamicCache`` is exact for it, then an
    empty plain one (which can be cut back to a prefix, forked and scored over).

    A plain cache is exact when every layer is full or sliding-window attention (the sliding mask
    comes from the config) and attention is causal; recurrent or chunked layers keep the model's."""
    if sliding_window(model) is None:
        return None
    config = _text_config(model)
    if not set(config.layer_types) <= _MASKED_BY_CONFIG or getattr(config, "use_bidirectional_attention", False):
        return None
    try:
        from transformers.cache_utils import DynamicCache, DynamicLayer  # noqa: F401 - layered caches
    except ImportError:  # pragma: no cover - a transformers without layered caches
        return None
    return DynamicCache()


def fork(cache: Any) -> Any:
    """A copy of a layered cache that shares its tensors: a dynamic cache grows by concatenation
    and crops by slicing, so extending or cropping the copy never changes the original."""
    twin = copy.copy(cache)
    twin.layers = [copy.copy(layer) for layer in cache.layers]
    return twin


class PrefixCache:
    """The KV cache of the last prompt, kept for the next one.

    ``take(ids)`` returns a private copy of the cache cropped to the longest token prefix shared
    with the kept prompt (at least one token is always left to run, for its logits) and how many
    tokens it covers. ``keep(ids, cache)`` stores a copy of the cache right after the prompt was
    run (:func:`fork`: generating on a copy never changes the kept one). Only plain dynamic caches
    are kept (sliding-window and recurrent caches cannot be cut back to a prefix; a model with
    sliding-window layers starts from a plain one, :func:`start_cache`).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.tokens: tuple[int, ...] = ()
        self._cache: Any = None

    def clear(self) -> None:
        self.tokens, self._cache = (), None

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
        cache = fork(self._cache)
        if len(self.tokens) > n:
            cache.crop(n - len(self.tokens))  # transformers 5 takes the count to remove, negative
        return cache, n

    def keep(self, ids: Sequence[int], cache: Any) -> None:
        if not self.enabled:
            return
        if is_plain_dynamic(cache):
            self.tokens, self._cache = tuple(ids), fork(cache)
        else:
            self.clear()
