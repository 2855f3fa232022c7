"""Pure rules of the loop: referral status from Tasks, stall windows, business days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.config import CrisisDestination, InboxDestination
from gateway.delivery.referral_status import loop_status
from gateway.referral_loop.loop_metrics import histogram_buckets
from gateway.referral_loop.stalls import add_business_days, stall_deadline


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], None),
        (["requested"], None),
        (["requested", "received"], "received"),
        (["requested", "accepted"], "accepted"),
        (["accepted", "in-progress"], "in-progress"),
        (["completed", "rejected"], "completed"),
        (["on-hold", "requested"], "on-hold"),
        (["rejected", "rejected"], "rejected"),
        (["rejected", "failed"], "rejected"),
        (["failed", "cancelled"], "failed"),
        (["cancelled"], "cancelled"),
        (["rejected", "requested"], None),
        (["entered-in-error", "accepted"], "accepted"),
    ],
)
def test_loop_status(statuses: list[str], expected: str | None) -> None:
    assert loop_status(statuses) == expected


FRIDAY_NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_business_days_skip_the_weekend() -> None:
    assert add_business_days(FRIDAY_NOON, 2) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert add_business_days(monday, 2) == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    assert add_business_days(saturday, 1) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_stall_windows() -> None:
    inbox = InboxDestination(name="inbox", type="inbox")
    assert stall_deadline(inbox, "routine", FRIDAY_NOON) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert stall_deadline(inbox, "urgent", FRIDAY_NOON) == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert stall_deadline(inbox, "asap", FRIDAY_NOON) == FRIDAY_NOON + timedelta(hours=4)
    assert stall_deadline(inbox, "stat", FRIDAY_NOON) == FRIDAY_NOON + timedelta(hours=1)
    configured = InboxDestination(name="inbox", type="inbox", stall_after_seconds=60)
    assert stall_deadline(configured, "routine", FRIDAY_NOON) == FRIDAY_NOON + timedelta(seconds=60)
    crisis = CrisisDestination(name="crisis", type="crisis", ack_sla_seconds=300)
    assert stall_deadline(crisis, "stat", FRIDAY_NOON) is None  # gateway.crisis watches it
    watched = CrisisDestination(name="crisis", type="crisis", stall_after_seconds=120)
    assert stall_deadline(watched, "stat", FRIDAY_NOON) == FRIDAY_NOON + timedelta(minutes=2)


def test_histogram_buckets_are_cumulative() -> None:
    buckets = dict(histogram_buckets([30.0, 120.0, 100000.0]))
    assert buckets["60.0"] == 1.0
    assert buckets["300.0"] == 2.0
    assert buckets["86400.0"] == 2.0
    assert buckets["+Inf"] == 3.0
