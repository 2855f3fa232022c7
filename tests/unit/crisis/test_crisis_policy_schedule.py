"""The escalation schedule at its edges (docs/crisis.md): the exact instant each step is
due, whom it goes to, and what the plan records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.crisis.policy import (
    PastStep,
    PlannedStep,
    Unacknowledged,
    contact_for,
    due_at,
    next_step,
)

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SLA = timedelta(seconds=300)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("step", "contacts", "index"),
    [(1, 1, 0), (2, 1, 0), (1, 2, 0), (2, 2, 1), (3, 2, 1), (9, 2, 1), (1, 0, None), (5, 0, None)],
)
def test_whom_each_step_goes_to(step: int, contacts: int, index: int | None) -> None:
    assert contact_for(step, contacts) == index


def test_a_delivered_referral_is_due_exactly_one_period_after_it_landed() -> None:
    pending = Unacknowledged(dead=False, since=T0)
    assert due_at(pending, sla=SLA, contacts=1) == at(300)
    assert next_step(pending, sla=SLA, contacts=1, now=at(299.999)) is None
    assert next_step(pending, sla=SLA, contacts=1, now=at(300)) == PlannedStep(
        step=1, contact_index=0, reason="sla", unacknowledged_seconds=300.0
    )


def test_a_dead_letter_is_due_when_it_died_and_says_so() -> None:
    pending = Unacknowledged(dead=True, since=T0)
    assert due_at(pending, sla=SLA, contacts=2) == T0
    assert next_step(pending, sla=SLA, contacts=2, now=at(-1)) is None
    assert next_step(pending, sla=SLA, contacts=2, now=at(42)) == PlannedStep(
        step=1, contact_index=0, reason="dead-letter", unacknowledged_seconds=42.0
    )


def test_a_later_step_of_a_dead_letter_stays_a_dead_letter_step() -> None:
    pending = Unacknowledged(dead=True, since=T0, history=(PastStep(1, at(0), "sent"),))
    planned = next_step(pending, sla=SLA, contacts=3, now=at(300))
    assert planned == PlannedStep(
        step=2, contact_index=1, reason="dead-letter", unacknowledged_seconds=300.0
    )


def test_the_next_step_counts_on_from_the_last_step_taken() -> None:
    history = (PastStep(1, at(300), "sent"), PastStep(2, at(600), "sent"))
    pending = Unacknowledged(dead=False, since=T0, history=history)
    assert due_at(pending, sla=SLA, contacts=2) == at(900)
    assert next_step(pending, sla=SLA, contacts=2, now=at(899)) is None
    planned = next_step(pending, sla=SLA, contacts=2, now=at(900))
    assert planned is not None
    assert (planned.step, planned.contact_index, planned.unacknowledged_seconds) == (3, 1, 900.0)


def test_only_the_last_step_sets_the_pace() -> None:
    history = (PastStep(1, at(300), "failed"), PastStep(2, at(310), "sent"))
    pending = Unacknowledged(dead=False, since=T0, history=history)
    assert due_at(pending, sla=SLA, contacts=3) == at(610)


@pytest.mark.parametrize(
    ("contacts", "failed_step", "due"),
    [
        (3, 1, 300),  # the next contact is tried at once
        (3, 2, 300),
        (3, 3, 600),  # the last contact failed: wait a period
        (1, 1, 600),
        (2, 5, 600),  # past the last contact, still the last one
        (0, 1, 600),  # alerts only: no contact to move on to
    ],
)
def test_a_failed_step_moves_on_at_once_unless_it_was_the_last_contact(
    contacts: int, failed_step: int, due: int
) -> None:
    pending = Unacknowledged(
        dead=False, since=T0, history=(PastStep(failed_step, at(300), "failed"),)
    )
    assert due_at(pending, sla=SLA, contacts=contacts) == at(due)


def test_the_time_unacknowledged_never_goes_negative() -> None:
    pending = Unacknowledged(dead=True, since=at(10))
    planned = next_step(pending, sla=SLA, contacts=1, now=at(10))
    assert planned is not None and planned.unacknowledged_seconds == 0.0
    # a step recorded before the landing time (clock skew between workers) is clamped too
    skewed = Unacknowledged(dead=False, since=at(10), history=(PastStep(1, at(0), "failed"),))
    planned = next_step(skewed, sla=SLA, contacts=2, now=at(5))
    assert planned is not None and planned.unacknowledged_seconds == 0.0
