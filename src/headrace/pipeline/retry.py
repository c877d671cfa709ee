"""The retry policy: full-jitter exponential backoff within a retry window.

A retryable failure waits `uniform(0, min(RETRY_CAP_S, RETRY_BASE_S * 2**attempt))`
seconds before the next attempt, until RETRY_WINDOW_S have passed since the event was
first enqueued; after that the job ends as expired (its event kept for replay).
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
        if now - first_enqueued_at >= self.window_s:
            return None
        return now + self.backoff_s(attempt, rng)
