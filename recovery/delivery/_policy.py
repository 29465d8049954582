"""When to retry: exponential back-off with jitter, capped, for a bounded number of attempts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n failed → wait about `base * 2**(n-1)` (5 s, 10 s, 20 s, ...) but at most
    `cap`, then try again; after `max_attempts` attempts the message is dead.

    Jitter only shortens a wait (by up to `jitter` of it), so the nominal delay is an upper
    bound and workers that failed together do not retry together. A receiver's
    `Retry-After` lengthens the wait (never beyond `cap`). The default budget (18
    attempts) keeps retrying for about eight and a half hours: a back-office outage of a
    working day.
    """

    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 18
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("retry policy: need 0 < base <= cap")
        if self.max_attempts < 1:
            raise ValueError("retry policy: max_attempts must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("retry policy: jitter must be in [0, 1)")

    def nominal_delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt number `attempt` (1-based), before jitter."""
        seconds = self.base.total_seconds() * 2 ** min(max(attempt - 1, 0), 62)
        return timedelta(seconds=min(seconds, self.cap.total_seconds()))

    def delay(
        self,
        attempt: int,
        rng: random.Random,
        retry_after: timedelta | None = None,
    ) -> timedelta:
        wait = self.nominal_delay(attempt) * (1 - self.jitter * rng.random())
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait

    def is_last(self, attempt: int) -> bool:
        return attempt >= self.max_attempts
