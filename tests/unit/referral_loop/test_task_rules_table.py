"""The whole referral Task state table, cell by cell, as the SDOH Clinical Care IG
(referral_workflow.html) draws it: who sets each status, where each status may go,
which need a reason, and which elements an update may touch."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.referral_loop.task_rules import (
    Role,
    changed_elements,
    mirror_allowed,
    reason_problems,
    transition_problems,
    update_problems,
    who_sets,
)

REQ = frozenset({Role.REQUESTER})
REC = frozenset({Role.RECIPIENT})
BOTH = frozenset({Role.REQUESTER, Role.RECIPIENT})
NOBODY: frozenset[Role] = frozenset()

SETTER = {
    "draft": REQ,
    "requested": REQ,
    "entered-in-error": REQ,
    "received": REC,
    "accepted": REC,
    "rejected": REC,
    "in-progress": REC,
    "on-hold": REC,
    "failed": REC,
    "completed": REC,
    "cancelled": BOTH,
}
TERMINAL = {"completed", "cancelled", "rejected", "failed", "entered-in-error"}
ANYTIME = {"cancelled", "entered-in-error"}
NEXT = {
    "draft": {"requested"},
    "requested": {"received", "accepted", "rejected"},
    "received": {"accepted", "rejected"},
    "accepted": {"in-progress", "on-hold", "completed", "failed"},
    "in-progress": {"on-hold", "completed", "failed"},
    "on-hold": {"in-progress", "completed", "failed"},
}
STATUSES = sorted(SETTER)


@pytest.mark.parametrize("status", STATUSES)
def test_who_sets_each_status(status: str) -> None:
    assert who_sets(status) == SETTER[status]


@pytest.mark.parametrize("status", ["ready", "XXdraft", "", "Requested"])
def test_a_status_outside_the_workflow_is_set_by_nobody(status: str) -> None:
    assert who_sets(status) == NOBODY


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("new", STATUSES)
def test_every_cell_of_the_transition_table(current: str, new: str) -> None:
    problems = transition_problems(current, new, BOTH)
    if new == current:
        assert problems == []
    elif current in TERMINAL:
        [problem] = problems
        assert "final" in problem.message and current in problem.message
    elif new in NEXT[current] | ANYTIME:
        assert problems == []
    else:
        [problem] = problems
        assert problem.expression == "Task.status"
        assert f"'{current}'" in problem.message and f"'{new}'" in problem.message


@pytest.mark.parametrize("current", sorted(NEXT))
@pytest.mark.parametrize("new", STATUSES)
def test_only_the_party_that_owns_a_status_may_set_it(current: str, new: str) -> None:
    if new == current or new not in NEXT[current] | ANYTIME:
        return
    for roles in (REQ, REC):
        problems = transition_problems(current, new, roles)
        if SETTER[new] & roles:
            assert problems == []
        else:
            [problem] = problems
            [owner] = SETTER[new]
            assert f"by the {owner.value}" in problem.message


def test_a_caller_holding_no_role_may_set_nothing_and_is_told_who_may() -> None:
    [problem] = transition_problems("requested", "cancelled", NOBODY)
    assert "recipient" in problem.message and "requester" in problem.message
    [problem] = transition_problems("requested", "accepted", NOBODY)
    assert "recipient" in problem.message and "requester" not in problem.message


def test_an_unknown_status_is_refused_before_anything_else() -> None:
    [problem] = transition_problems("completed", "ready", BOTH)
    assert "'ready'" in problem.message and "not a status" in problem.message


@pytest.mark.parametrize("status", sorted(SETTER))
def test_which_statuses_need_a_reason(status: str) -> None:
    needs = status in {"rejected", "cancelled", "on-hold", "failed"}
    problems = reason_problems({"status": status})
    if needs:
        [problem] = problems
        assert problem.expression == "Task.statusReason.text"
        assert status in problem.message
    else:
        assert problems == []
    assert reason_problems({"status": status, "statusReason": {"text": "why"}}) == []


@pytest.mark.parametrize(
    "reason", [None, "No capacity", {"coding": [{"code": "x"}]}, {"text": 5}, {"text": " \n"}]
)
def test_a_reason_must_have_text(reason: Any) -> None:
    task = {"status": "rejected", "statusReason": reason}
    assert [p.expression for p in reason_problems(task)] == ["Task.statusReason.text"]


TASK = {
    "resourceType": "Task",
    "id": "t1",
    "meta": {"versionId": "1"},
    "status": "accepted",
    "intent": "order",
    "for": {"reference": "Patient/p"},
}


def test_an_unchanged_status_needing_a_reason_is_not_asked_for_one_again() -> None:
    on_hold = {**TASK, "status": "on-hold"}
    assert update_problems(on_hold, {**on_hold, "note": [{"text": "still"}]}, REC) == []


def test_a_status_that_is_not_a_string_is_refused() -> None:
    [problem] = update_problems(TASK, {**TASK, "status": 5}, REC)
    assert problem.expression == "Task.status"
    assert "Task.status" in problem.message and "required" in problem.message


def test_every_problem_of_an_update_is_reported_in_order() -> None:
    proposed = {**TASK, "resourceType": "Patient", "intent": "plan", "status": "rejected"}
    problems = update_problems(TASK, proposed, REC)
    assert [p.expression for p in problems] == [
        "Task.intent",
        "Task.resourceType",
        "Task.status",
        "Task.statusReason.text",
    ]
    assert "Task.intent" in problems[0].message
    assert "Task" in problems[1].message


def test_a_refused_move_by_the_wrong_party_is_reported_with_a_missing_reason() -> None:
    proposed = {**TASK, "status": "failed"}
    assert [p.expression for p in update_problems(TASK, proposed, REQ)] == [
        "Task.status",
        "Task.statusReason.text",
    ]


def test_a_task_without_a_current_status_cannot_move() -> None:
    current = {k: v for k, v in TASK.items() if k != "status"}
    [problem] = update_problems(current, {**current, "status": "accepted"}, REC)
    assert problem.expression == "Task.status"


def test_mutable_and_ignored_elements_may_change_and_the_rest_may_not() -> None:
    proposed = {
        **TASK,
        "id": "other",
        "meta": {"versionId": "7"},
        "statusReason": {"text": "x"},
        "businessStatus": {"text": "y"},
        "output": [],
        "note": [],
        "lastModified": "2026-11-27T10:00:00Z",
        "owner": {"reference": "Organization/o"},
        "authoredOn": "2026-11-27",
    }
    assert changed_elements(TASK, proposed) == ["authoredOn", "owner"]
    assert changed_elements(proposed, TASK) == ["authoredOn", "owner"]
    assert changed_elements(TASK, {**TASK, "resourceType": "Task2"}) == []


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("remote", STATUSES)
def test_mirroring_the_recipients_status(current: str, remote: str) -> None:
    expected = (
        current not in TERMINAL and remote != current and (Role.RECIPIENT in SETTER[remote])
    )
    assert mirror_allowed(current, remote) is expected
