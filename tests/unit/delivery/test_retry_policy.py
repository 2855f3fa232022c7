"""Delivery retry policy: full-jitter backoff, caps, Retry-After, quick retries."""

from __future__ import annotations

import random

import pytest

from connectors.base import PermanentDeliveryError, TransientDeliveryError
from gateway.delivery.retry import RetryPolicy, worth_a_quick_retry


def policy(**changes: object) -> RetryPolicy:
    return RetryPolicy(rng=random.Random(7), **changes)  # type: ignore[arg-type]


def test_backoff_is_full_jitter_under_a_doubling_ceiling() -> None:
    p = policy(base_seconds=2.0, cap_seconds=300.0)
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (9, 300.0), (30, 300.0)]:
        delays = [p.next_delay(attempts, crisis=False, retry_after=None) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not fixed


def test_the_crisis_lane_never_waits_long() -> None:
    p = policy(crisis_cap_seconds=10.0)
    assert all(p.next_delay(12, crisis=True, retry_after=None) <= 10 for _ in range(100))


def test_retry_after_is_a_floor_but_bounded() -> None:
    p = policy()
    assert p.next_delay(1, crisis=False, retry_after=120) >= 120
    assert p.next_delay(1, crisis=False, retry_after=10**9) == 3600.0


@pytest.mark.parametrize(
    ("error", "quick"),
    [
        (TransientDeliveryError("503"), True),
        (TransientDeliveryError("503", retry_after=0.5), True),
        (TransientDeliveryError("429", retry_after=30), False),
        (PermanentDeliveryError("400"), False),
        (ValueError("bug"), False),
    ],
)
def test_quick_retries_only_for_short_transient_pauses(error: BaseException, quick: bool) -> None:
    assert worth_a_quick_retry(error) is quick


async def test_in_claim_retries_stop_after_the_quick_budget() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    calls = 0
    with pytest.raises(TransientDeliveryError):
        async for attempt in policy(quick_retries=2, sleep=sleep).in_claim():
            with attempt:
                calls += 1
                raise TransientDeliveryError("down")
    assert calls == 3
    assert len(slept) == 2 and all(0 <= s <= 1 for s in slept)
