"""One retry policy for every HTTP engine: ``Retry-After`` honoured, bounded backoff, a cap on
the total wait, retries counted. Each engine hands one attempt to :func:`call_with_retries`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ...errors import EngineError

log = logging.getLogger("nbagents.engines")
T = TypeVar("T")


class HTTPFailure(Exception):
    """An attempt got a non-success HTTP status (raised inside :func:`call_with_retries`)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass
class Attempts:
    """What the retry loop did: retries made, seconds waited, statuses seen."""

    retries: int = 0
    waited: float = 0.0
    statuses: list[int] = field(default_factory=list)
    gave_up: str = ""


#: The statuses that go away by themselves, and only those: 429 (rate limited), 503 (overloaded or
#: the model is loading) and 529 (overloaded), whose ``Retry-After`` says when to come back; 502 and
#: 504 (a gateway or proxy hiccup); 408 and 425 (the server asks for the request again). A 500 is
#: not retried: it is usually a bug or a crash on the server (an out-of-memory worker, a bad
#: request it could not parse) that the same request meets again, so it fails at once with the
#: server's message instead of after seconds of backoff. Other 4xx (the request is wrong) neither.
RETRYABLE = frozenset({408, 425, 429, 502, 503, 504, 529})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for the statuses in :data:`RETRYABLE` (429, 503, 529; 502, 504; 408, 425).

    ``Retry-After`` (or HF's ``estimated_time``) is honoured when the server gives it; otherwise the
    wait doubles from ``backoff`` up to ``max_backoff``. At most ``max_retries`` retries and
    ``max_wait`` seconds of waiting in all; a server that asks for more than is left is not waited for.
    """

    max_retries: int = 4
    max_wait: float = 60.0
    backoff: float = 0.5
    max_backoff: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def next_wait(self, failure: HTTPFailure, attempts: Attempts) -> float | None:
        """Seconds to wait before the next try, or ``None`` to give up (reason in ``attempts``)."""
        if failure.status not in RETRYABLE:
            return None
        if attempts.retries >= self.max_retries:
            attempts.gave_up = f"after {attempts.retries} retries"
            return None
        left = self.max_wait - attempts.waited
        if failure.retry_after is not None:
            if failure.retry_after > left:
                attempts.gave_up = (f"the server asked to wait {failure.retry_after:g} s, more than "
                                    f"the {max(left, 0):g} s left of max_wait")
                return None
            return failure.retry_after
        wait = min(self.max_backoff, self.backoff * 2 ** attempts.retries, left)
        if wait <= 0 and self.backoff > 0:
            attempts.gave_up = f"after waiting {attempts.waited:g} s (max_wait)"
            return None
        return max(wait, 0.0)


def call_with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    where: str,
    to_error: Callable[[HTTPFailure, Attempts], EngineError],
) -> tuple[T, Attempts]:
    """Run ``attempt`` until it returns, retrying :class:`HTTPFailure` as ``policy`` allows.

    A failure that is not retried (or that outlasts the policy) becomes ``to_error(failure,
    attempts)``. Anything else (transport errors, KeyboardInterrupt) propagates at once.
    """
    attempts = Attempts()
    while True:
        try:
            return attempt(), attempts
        except HTTPFailure as failure:
            attempts.statuses.append(failure.status)
            wait = policy.next_wait(failure, attempts)
            if wait is None:
                raise to_error(failure, attempts) from None
            log.info("HTTP %s from %s; retrying in %.2f s (retry %d of %d)", failure.status, where,
                     wait, attempts.retries + 1, policy.max_retries)
            if wait:
                policy.sleep(wait)
            attempts.retries += 1
            attempts.waited += wait
