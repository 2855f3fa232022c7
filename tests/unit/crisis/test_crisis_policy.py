"""The escalation schedule as a pure function of history and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.crisis.policy import PastStep, Unacknowledged, contact_for, due_at, next_step

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SLA = timedelta(seconds=300)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_contacts_in_order_then_the_last_one_again() -> None:
    assert [contact_for(step, 3) for step in range(1, 7)] == [0, 1, 2, 2, 2, 2]
    assert contact_for(1, 0) is None


def test_a_delivered_referral_waits_one_sla_period() -> None:
    pending = Unacknowledged(dead=False, since=T0)
    assert next_step(pending, sla=SLA, contacts=2, now=at(299)) is None
    planned = next_step(pending, sla=SLA, contacts=2, now=at(300))
    assert planned is not None
    assert (planned.step, planned.contact_index, planned.reason) == (1, 0, "sla")
    assert planned.unacknowledged_seconds == 300


def test_a_dead_letter_is_due_at_once() -> None:
    pending = Unacknowledged(dead=True, since=T0)
    planned = next_step(pending, sla=SLA, contacts=0, now=T0)
    assert planned is not None
    assert (planned.step, planned.contact_index, planned.reason) == (1, None, "dead-letter")


def test_each_later_step_waits_another_period_after_the_last() -> None:
    pending = Unacknowledged(dead=False, since=T0, history=(PastStep(1, at(310), "sent"),))
    assert due_at(pending, sla=SLA, contacts=2) == at(610)
    planned = next_step(pending, sla=SLA, contacts=2, now=at(610))
    assert planned is not None and (planned.step, planned.contact_index) == (2, 1)


def test_a_failure_goes_to_the_next_contact_at_once_but_not_past_the_last() -> None:
    failed_first = Unacknowledged(dead=False, since=T0, history=(PastStep(1, at(300), "failed"),))
    assert due_at(failed_first, sla=SLA, contacts=2) == at(300)
    failed_last = Unacknowledged(
        dead=False,
        since=T0,
        history=(PastStep(1, at(300), "failed"), PastStep(2, at(301), "failed")),
    )
    assert due_at(failed_last, sla=SLA, contacts=2) == at(601)
    alert_only = Unacknowledged(dead=False, since=T0, history=(PastStep(1, at(300), "failed"),))
    assert due_at(alert_only, sla=SLA, contacts=0) == at(600)
