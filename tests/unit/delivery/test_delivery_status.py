"""DeliveryStatus owns the moves a queued delivery or notification may make."""

from __future__ import annotations

import pytest

from gateway.delivery.status import OPEN, SETTLED, DeliveryStatus, InvalidTransition

S = DeliveryStatus


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.PENDING, S.DELIVERING),
        (S.DELIVERING, S.DELIVERED),
        (S.DELIVERING, S.PENDING),
        (S.DELIVERING, S.DEAD),
        (S.DELIVERING, S.DELIVERING),
        (S.DELIVERING, S.WITHHELD),
        (S.DELIVERING, S.CANCELLED),
        (S.DELIVERING, S.SKIPPED),
        (S.PENDING, S.WITHHELD),
        (S.DEAD, S.PENDING),
    ],
)
def test_allowed_moves(old: DeliveryStatus, new: DeliveryStatus) -> None:
    assert old.may_become(new)
    assert old.to(new) is new


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.DELIVERED, S.PENDING),
        (S.DELIVERED, S.DELIVERING),
        (S.WITHHELD, S.DELIVERING),
        (S.CANCELLED, S.PENDING),
        (S.SKIPPED, S.PENDING),
        (S.PENDING, S.DELIVERED),
        (S.PENDING, S.DEAD),
        (S.DEAD, S.DELIVERING),
    ],
)
def test_refused_moves_name_both_statuses(old: DeliveryStatus, new: DeliveryStatus) -> None:
    assert not old.may_become(new)
    with pytest.raises(InvalidTransition) as caught:
        old.to(new)
    assert old.value in str(caught.value) and new.value in str(caught.value)


def test_a_delivered_referral_can_never_be_sent_again() -> None:
    assert not any(S.DELIVERED.may_become(s) for s in S)


def test_every_status_has_its_moves_and_the_groups_do_not_overlap() -> None:
    for status in S:
        status.may_become(S.PENDING)  # no KeyError: every status is in the table
    assert not OPEN & SETTLED
    assert all(not s.may_become(S.DELIVERING) for s in SETTLED)


def test_values_are_the_stored_strings() -> None:
    assert S.DEAD == "dead" and f"{S.PENDING}" == "pending"
