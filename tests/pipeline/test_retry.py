"""The retry policy: full jitter, capped, bounded by the window."""

from __future__ import annotations

import random

from headrace.pipeline.retry import RETRY_WINDOW_S, RetryPolicy


def test_the_default_window_is_four_hours() -> None:
    assert RetryPolicy().window_s == RETRY_WINDOW_S == 4 * 3600


def test_backoff_is_uniform_up_to_base_times_two_to_the_attempt() -> None:
    policy = RetryPolicy(window_s=3600, base_s=2, cap_s=1000)
    rng = random.Random(7)

    waits = [policy.backoff_s(3, rng) for _ in range(2000)]

    assert 0 <= min(waits) < 0.5
    assert 15 < max(waits) <= 16


def test_backoff_never_exceeds_the_cap() -> None:
    policy = RetryPolicy(window_s=3600, base_s=2, cap_s=5)

    assert max(policy.backoff_s(40) for _ in range(500)) <= 5


def test_the_next_attempt_is_none_once_the_window_has_passed() -> None:
    policy = RetryPolicy(window_s=60, base_s=1, cap_s=10)

    assert policy.next_attempt_at(0, first_enqueued_at=0, now=59) is not None
    assert policy.next_attempt_at(5, first_enqueued_at=0, now=60) is None


def test_the_last_attempt_is_scheduled_within_the_window() -> None:
    policy = RetryPolicy(window_s=100, base_s=1000, cap_s=1000)
    rng = random.Random(3)

    attempts = [policy.next_attempt_at(5, 0.0, 90.0, rng) for _ in range(200)]

    assert all(a is not None and 90.0 <= a <= 100.0 for a in attempts)
    assert max(a for a in attempts if a is not None) == 100.0
