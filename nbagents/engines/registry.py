"""Engine specs (``local:<id>``, ``endpoint:<url>``, ``openai:<model>``, ``fake:``) and the
kernel-wide cache that keeps a loaded model resident and shared by every agent naming it."""

from __future__ import annotations

import importlib
import threading
from typing import Any

from ..errors import ConfigurationError
from .base import Engine

__all__ = ["load_engine", "parse_spec", "loaded_engines", "forget_engines", "DEFAULT_SPEC"]

DEFAULT_SPEC = "default"

# scheme -> (module, factory attribute); the factory is ``from_spec(rest, **options)``.
_SCHEMES: dict[str, tuple[str, str]] = {
    "default": ("nbagents.engines.embedded", "EmbeddedEngine"),
    "local": ("nbagents.engines.local", "TransformersEngine"),
    "endpoint": ("nbagents.engines.endpoint", "EndpointEngine"),
    "openai": ("nbagents.engines.openai", "OpenAIEngine"),
    "azure": ("nbagents.engines.azure", "AzureOpenAIEngine"),
    "fake": ("nbagents.engines.fake", "ScriptedEngine"),
}

_cache: dict[tuple, Engine] = {}
_lock = threading.Lock()


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``scheme:rest``. A bare Hub id or path means ``local:``; ``http(s)://`` means endpoint."""
    spec = spec.strip()
    if not spec or spec == DEFAULT_SPEC:
        return "default", ""
    if spec.startswith(("http://", "https://")):
        return "endpoint", spec
    scheme, sep, rest = spec.partition(":")
    if sep and scheme in _SCHEMES:
        return scheme, rest
    if sep and "/" not in scheme and "\\" not in scheme:
        raise ConfigurationError(
            f"Unknown engine scheme {scheme!r} in {spec!r}.",
            hint="Use one of: " + ", ".join(f"{s}:" for s in _SCHEMES) + " (or 'default').",
        )
    return "local", spec


def _freeze(options: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in options.items()))


def load_engine(spec: str | Engine | None = None, *, shared: bool = True, **options: Any) -> Engine:
    """Return the engine named by ``spec`` (an Engine passes through).

    Engines named by the same spec and options are created once per process and shared, so a
    model loaded by one agent or magic stays resident for every other (``shared=False`` opts out;
    scripted engines are never shared because they hold a reply queue).
    """
    if isinstance(spec, Engine):
        return spec
    if spec is None:
        spec = DEFAULT_SPEC
    if not isinstance(spec, str):
        raise ConfigurationError(
            f"An engine must be an Engine or a spec string, not {type(spec).__name__}.",
            hint="For example Agent(engine='local:HuggingFaceTB/SmolLM2-360M-Instruct').",
        )
    scheme, rest = parse_spec(spec)
    module_name, attr = _SCHEMES[scheme]
    factory = getattr(importlib.import_module(module_name), attr)
    if scheme == "fake" or not shared:
        return factory.from_spec(rest, **options)
    key = (scheme, rest, _freeze(options))
    with _lock:
        engine = _cache.get(key)
        if engine is None:
            engine = _cache[key] = factory.from_spec(rest, **options)
    return engine


def loaded_engines() -> list[Engine]:
    """The shared engines created so far in this process."""
    with _lock:
        return list(_cache.values())


def forget_engines() -> None:
    """Drop the shared engines (their models are freed when nothing else holds them)."""
    with _lock:
        _cache.clear()
