"""Who may move a referral Task where (HL7 SDOH Clinical Care referral workflow), as a table."""

from __future__ import annotations

import pytest

from gateway.referral_loop.task_rules import (
    Role,
    changed_elements,
    mirror_allowed,
    transition_problems,
    update_problems,
)

REQ = frozenset({Role.REQUESTER})
REC = frozenset({Role.RECIPIENT})
BOTH = frozenset(Role)

ALLOWED = [
    ("draft", "requested", REQ),
    ("requested", "received", REC),
    ("requested", "accepted", REC),
    ("requested", "rejected", REC),
    ("received", "accepted", REC),
    ("received", "rejected", REC),
    ("accepted", "in-progress", REC),
    ("accepted", "on-hold", REC),
    ("accepted", "completed", REC),
    ("accepted", "failed", REC),
    ("in-progress", "on-hold", REC),
    ("in-progress", "completed", REC),
    ("in-progress", "failed", REC),
    ("on-hold", "in-progress", REC),
    ("requested", "cancelled", REQ),
    ("requested", "cancelled", REC),
    ("in-progress", "cancelled", REQ),
    ("requested", "entered-in-error", REQ),
    ("accepted", "accepted", REQ),  # no status change: notes and outputs may be added
]

REFUSED = [
    ("requested", "accepted", REQ, "may only be set by the recipient"),
    ("requested", "received", REQ, "may only be set by the recipient"),
    ("draft", "requested", REC, "may only be set by the requester"),
    ("requested", "entered-in-error", REC, "may only be set by the requester"),
    ("requested", "completed", REC, "cannot move from 'requested' to 'completed'"),
    ("received", "in-progress", REC, "cannot move from 'received' to 'in-progress'"),
    ("accepted", "requested", REQ, "cannot move from 'accepted' to 'requested'"),
    ("accepted", "received", REC, "cannot move from 'accepted' to 'received'"),
    ("completed", "in-progress", REC, "final"),
    ("cancelled", "requested", REQ, "final"),
    ("rejected", "accepted", REC, "final"),
    ("failed", "in-progress", REC, "final"),
    ("entered-in-error", "requested", REQ, "final"),
    ("requested", "ready", BOTH, "not a status of the referral workflow"),
    ("requested", "bogus", BOTH, "not a status of the referral workflow"),
]


@pytest.mark.parametrize(("current", "new", "roles"), ALLOWED)
def test_allowed_transitions(current: str, new: str, roles: frozenset[Role]) -> None:
    assert transition_problems(current, new, roles) == []


@pytest.mark.parametrize(("current", "new", "roles", "why"), REFUSED)
def test_refused_transitions_name_task_status(
    current: str, new: str, roles: frozenset[Role], why: str
) -> None:
    (problem,) = transition_problems(current, new, roles)
    assert problem.expression == "Task.status"
    assert why in problem.message


TASK = {
    "resourceType": "Task",
    "id": "t1",
    "meta": {"versionId": "2"},
    "status": "requested",
    "intent": "order",
    "for": {"reference": "Patient/p"},
    "focus": {"reference": "ServiceRequest/s"},
}


@pytest.mark.parametrize(
    ("before", "status"),
    [
        ("requested", "rejected"),
        ("requested", "cancelled"),
        ("accepted", "on-hold"),
        ("in-progress", "failed"),
    ],
)
def test_status_reason_text_is_required(before: str, status: str) -> None:
    current = {**TASK, "status": before}
    without = {**current, "status": status}
    problems = update_problems(current, without, BOTH)
    assert [p.expression for p in problems] == ["Task.statusReason.text"]
    blank = {**without, "statusReason": {"text": "  "}}
    assert [p.expression for p in update_problems(current, blank, BOTH)] == [
        "Task.statusReason.text"
    ]
    given = {**without, "statusReason": {"text": "No capacity this month."}}
    assert update_problems(current, given, BOTH) == []


def test_business_status_is_optional_and_mutable() -> None:
    proposed = {**TASK, "status": "accepted", "businessStatus": {"text": "scheduled"}}
    assert update_problems(TASK, proposed, REC) == []


def test_only_mutable_elements_may_change() -> None:
    proposed = {
        **TASK,
        "status": "accepted",
        "for": {"reference": "Patient/other"},
        "priority": "stat",
        "note": [{"text": "fine"}],
        "output": [{"type": {"text": "x"}, "valueString": "y"}],
        "lastModified": "2026-11-27T10:00:00Z",
        "meta": {"versionId": "9"},
    }
    problems = update_problems(TASK, proposed, REC)
    assert [p.expression for p in problems] == ["Task.for", "Task.priority"]
    assert changed_elements(TASK, proposed) == ["for", "priority"]


def test_removing_an_element_counts_as_a_change() -> None:
    proposed = {k: v for k, v in TASK.items() if k != "focus"}
    assert changed_elements(TASK, proposed) == ["focus"]


def test_missing_status_and_wrong_type() -> None:
    proposed = {k: v for k, v in TASK.items() if k != "status"}
    assert [p.expression for p in update_problems(TASK, proposed, REC)] == ["Task.status"]
    other = {**TASK, "resourceType": "ServiceRequest"}
    assert "Task.resourceType" in [p.expression for p in update_problems(TASK, other, REC)]


@pytest.mark.parametrize(
    ("current", "remote", "allowed"),
    [
        ("requested", "accepted", True),
        ("requested", "completed", True),  # polling may miss the steps between
        ("accepted", "rejected", True),
        ("in-progress", "cancelled", True),
        ("requested", "requested", False),
        ("completed", "in-progress", False),
        ("accepted", "requested", False),  # the requester's status, not the recipient's
        ("accepted", "draft", False),
    ],
)
def test_mirror_allowed(current: str, remote: str, allowed: bool) -> None:
    assert mirror_allowed(current, remote) is allowed
