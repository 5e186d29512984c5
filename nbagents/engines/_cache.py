"""One forward pass with a key/value cache, whatever transformers calls the cache.

transformers 5.x renamed the forward argument and the output field ``past_key_values`` to
``cache`` (the old name is deprecated and goes in 5.40); 4.x knows only ``past_key_values``. Every
hand-written decoding loop in nbagents goes through :func:`forward` and :func:`cache_of`.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

__all__ = ["cache_argument", "cache_of", "forward"]


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
