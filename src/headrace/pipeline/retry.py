"""The retry policy: full-jitter exponential backoff within a retry window.

A retryable failure waits `uniform(0, min(RETRY_CAP_S, RETRY_BASE_S * 2**attempt))`
seconds before the next attempt, until RETRY_WINDOW_S have passed since the event was
first enqueued; after that the job ends as expired (its event kept for replay).

A source function's webhook request is tried a limited number of times instead
(SourceRetryPolicy), as Segment does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRY_WINDOW_S = 4 * 3600.0
"""How long an event keeps being retried, from its first enqueue (HEADRACE_RETRY_WINDOW_S)."""

RETRY_BASE_S = 10.0
"""Scale of the first backoff: the first retry waits up to twice this (HEADRACE_RETRY_BASE_S)."""

RETRY_CAP_S = 1800.0
"""The longest single wait between two attempts (HEADRACE_RETRY_CAP_S)."""

_MAX_EXPONENT = 32  # 2**32 * base is past any cap; keeps the float finite


@dataclass(frozen=True)
class RetryPolicy:
    window_s: float = RETRY_WINDOW_S
    base_s: float = RETRY_BASE_S
    cap_s: float = RETRY_CAP_S

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt number `attempt` (0 for the first failure)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** min(attempt, _MAX_EXPONENT))
        return (rng or random).uniform(0, ceiling)

    def next_attempt_at(
        self, attempt: int, first_enqueued_at: float, now: float, rng: random.Random | None = None
    ) -> float | None:
        """When to try again after a retryable failure, or None once the window has passed."""
        window_ends = first_enqueued_at + self.window_s
        if now >= window_ends:
            return None
        # The last attempt falls inside the window, not up to a whole backoff past it.
        return min(now + self.backoff_s(attempt, rng), window_ends)


SOURCE_RETRY_ATTEMPTS = 6
"""Tries of one webhook request in all, the first included, as Segment makes
(HEADRACE_SOURCE_RETRY_ATTEMPTS)."""

SOURCE_RETRY_FIRST_MIN_S = 60.0
"""The shortest first wait before a source function's request is tried again
(HEADRACE_SOURCE_RETRY_FIRST_MIN_S)."""

SOURCE_RETRY_FIRST_MAX_S = 180.0
"""The longest first wait (HEADRACE_SOURCE_RETRY_FIRST_MAX_S)."""

SOURCE_RETRY_CAP_S = 1200.0
"""The longest single wait between two tries of a request (HEADRACE_SOURCE_RETRY_CAP_S)."""


@dataclass(frozen=True)
class SourceRetryPolicy:
    """Source functions' retries, after Segment's: a limited number of tries rather than a
    window. The wait after failed try n (0 for the first) is
    `min(cap_s, uniform(first_min_s, first_max_s) * 2**n)`; after `max_attempts` tries
    the request ends as expired.
    """

    max_attempts: int = SOURCE_RETRY_ATTEMPTS
    first_min_s: float = SOURCE_RETRY_FIRST_MIN_S
    first_max_s: float = SOURCE_RETRY_FIRST_MAX_S
    cap_s: float = SOURCE_RETRY_CAP_S

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed try number `attempt` (0 for the first failure)."""
        first: float = (rng or random).uniform(
            self.first_min_s, max(self.first_min_s, self.first_max_s)
        )
        growth: float = 2.0 ** min(attempt, _MAX_EXPONENT)
        return min(self.cap_s, first * growth)

    def next_attempt_at(
        self, attempt: int, now: float, rng: random.Random | None = None
    ) -> float | None:
        """When to try again after failed try number `attempt`, or None after the last."""
        if attempt + 1 >= self.max_attempts:
            return None
        return now + self.backoff_s(attempt, rng)
