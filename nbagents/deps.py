"""Optional dependencies: one way to import them, one error when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, *, extra: str, purpose: str, package: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`~nbagents.errors.MissingDependencyError` naming the
    package (``package``, default the module's top-level name) and the extra that installs it.

    ``purpose`` is what needs it, for the message: ``"The OpenAI engine"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(package or module.partition(".")[0], extra, purpose) from e
