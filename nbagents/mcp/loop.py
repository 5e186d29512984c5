"""One background asyncio event loop, in a daemon thread, for every MCP connection.

The kernel's own loop (ipykernel runs one) is never used or blocked: :func:`run` hands a
coroutine to the background loop and waits for it in the calling thread, with a timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any

__all__ = ["background_loop", "run", "submit"]

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The background loop, started on first use (a daemon thread named ``nbagents-mcp``)."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=serve, name="nbagents-mcp", daemon=True).start()
            ready.wait()
            _loop = loop
        return _loop


def submit(coro: Coroutine) -> concurrent.futures.Future:
    """Schedule ``coro`` on the background loop; the future it returns can be waited on anywhere."""
    return asyncio.run_coroutine_threadsafe(coro, background_loop())


def run(coro: Coroutine, timeout: float | None) -> Any:
    """Run ``coro`` on the background loop and return its result.

    Raises :class:`TimeoutError` after ``timeout`` seconds (the coroutine is cancelled); the
    coroutine's own exception otherwise. Never call it from the background loop's thread.
    """
    future = submit(coro)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"no answer after {timeout} s") from None
