"""How many CPU threads torch may use for a local model.

On a shared machine, torch with more threads than the cores really free collapses (measured on 2
cores with another process busy: 2 threads gave ~2 tokens/s, 1 thread ~22 tokens/s). So the
default leaves a core for the notebook server and everything else, and never goes above 4 (small
models gain little from more). ``num_threads=`` or ``NBAGENTS_TORCH_THREADS`` override it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from .errors import ConfigurationError

__all__ = ["available_cores", "resolve_threads", "torch_threads", "ENV_THREADS"]

log = logging.getLogger("nbagents")

ENV_THREADS = "NBAGENTS_TORCH_THREADS"
MAX_DEFAULT_THREADS = 4


def available_cores() -> int:
    """Cores this process may run on (CPU affinity, where the platform tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_threads(num_threads: int | None = None) -> int:
    """The torch thread count: ``num_threads``, else ``$NBAGENTS_TORCH_THREADS``, else
    ``min(4, cores - 1)`` (at least 1)."""
    if num_threads is None:
        env = os.environ.get(ENV_THREADS, "").strip()
        if env:
            try:
                num_threads = int(env)
            except ValueError:
                raise ConfigurationError(
                    f"{ENV_THREADS}={env!r} is not a number.",
                    hint=f"Set {ENV_THREADS} to a positive whole number of threads, e.g. 2.",
                ) from None
    if num_threads is None:
        return max(1, min(MAX_DEFAULT_THREADS, available_cores() - 1))
    if not isinstance(num_threads, int) or num_threads < 1:
        raise ConfigurationError(
            f"num_threads must be a positive whole number, not {num_threads!r}.",
            hint="For example TransformersEngine(..., num_threads=2).",
        )
    return num_threads


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``, then restore the kernel's setting (torch's
    thread count is process-wide, and the user's own torch code should keep theirs)."""
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
