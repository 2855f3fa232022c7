"""Who may move a referral Task to which status.

HL7 SDOH Clinical Care IG (STU 2.x), "Referral workflow" (referral_workflow.html) and
profile SDOHCC-TaskForReferralManagement:

- the requester sets ``draft``, ``requested`` and ``entered-in-error``;
- the recipient (the Task's owner) sets ``received``, ``accepted``, ``rejected``,
  ``in-progress``, ``on-hold``, ``failed`` and ``completed``;
- either may set ``cancelled``;
- ``statusReason`` (its text) is required for ``rejected``, ``cancelled``,
  ``on-hold`` and ``failed``; ``businessStatus`` is optional.

Only the elements of ``MUTABLE_ELEMENTS`` may change in an update; everything else
belongs to the referral as it was sent. Pure: data in, problems out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Role(Enum):
    REQUESTER = "requester"
    RECIPIENT = "recipient"


REQUESTER_STATUSES = frozenset({"draft", "requested", "entered-in-error"})
RECIPIENT_STATUSES = frozenset(
    {"received", "accepted", "rejected", "in-progress", "on-hold", "failed", "completed"}
)
EITHER_STATUSES = frozenset({"cancelled"})
TERMINAL_STATUSES = frozenset({"completed", "cancelled", "rejected", "failed", "entered-in-error"})
REASON_REQUIRED = frozenset({"rejected", "cancelled", "on-hold", "failed"})
MUTABLE_ELEMENTS = frozenset(
    {"status", "statusReason", "businessStatus", "output", "note", "lastModified"}
)
IGNORED_ELEMENTS = frozenset({"resourceType", "id", "meta"})

_OPEN = ("entered-in-error", "cancelled")
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"requested", *_OPEN}),
    "requested": frozenset({"received", "accepted", "rejected", *_OPEN}),
    "received": frozenset({"accepted", "rejected", *_OPEN}),
    "accepted": frozenset({"in-progress", "on-hold", "completed", "failed", *_OPEN}),
    "in-progress": frozenset({"on-hold", "completed", "failed", *_OPEN}),
    "on-hold": frozenset({"in-progress", "completed", "failed", *_OPEN}),
}
"""From each non-terminal status, the statuses it may move to (by someone)."""


@dataclass(frozen=True)
class Problem:
    """Why an update is refused; ``expression`` is the FHIRPath of the offending element."""

    expression: str
    message: str


def who_sets(status: str) -> frozenset[Role]:
    if status in REQUESTER_STATUSES:
        return frozenset({Role.REQUESTER})
    if status in RECIPIENT_STATUSES:
        return frozenset({Role.RECIPIENT})
    if status in EITHER_STATUSES:
        return frozenset({Role.REQUESTER, Role.RECIPIENT})
    return frozenset()


def transition_problems(current: str, new: str, roles: frozenset[Role]) -> list[Problem]:
    """Problems with moving ``current`` to ``new`` for a caller holding ``roles``."""
    if new == current:
        return []
    if not who_sets(new):
        return [Problem("Task.status", f"'{new}' is not a status of the referral workflow")]
    if current in TERMINAL_STATUSES:
        return [Problem("Task.status", f"the Task is '{current}', which is final")]
    if new not in TRANSITIONS.get(current, frozenset()):
        return [Problem("Task.status", f"a Task cannot move from '{current}' to '{new}'")]
    if not who_sets(new) & roles:
        setter = " or ".join(sorted(role.value for role in who_sets(new)))
        return [
            Problem(
                "Task.status",
                f"'{current}' -> '{new}' may only be set by the {setter}",
            )
        ]
    return []


def _reason_text(task: Mapping[str, Any]) -> str:
    reason = task.get("statusReason")
    if not isinstance(reason, dict):
        return ""
    text = reason.get("text")
    return text.strip() if isinstance(text, str) else ""


def reason_problems(task: Mapping[str, Any]) -> list[Problem]:
    status = task.get("status")
    if status in REASON_REQUIRED and not _reason_text(task):
        return [Problem("Task.statusReason.text", f"a reason is required for '{status}'")]
    return []


def changed_elements(current: Mapping[str, Any], proposed: Mapping[str, Any]) -> list[str]:
    """Elements ``proposed`` changes that an update may not touch, sorted."""
    keys = (set(current) | set(proposed)) - IGNORED_ELEMENTS - MUTABLE_ELEMENTS
    return sorted(key for key in keys if current.get(key) != proposed.get(key))


def update_problems(
    current: Mapping[str, Any], proposed: Mapping[str, Any], roles: frozenset[Role]
) -> list[Problem]:
    """Everything wrong with replacing ``current`` by ``proposed`` for ``roles``."""
    problems = [
        Problem(f"Task.{name}", f"Task.{name} may not be changed by an update")
        for name in changed_elements(current, proposed)
    ]
    if proposed.get("resourceType") != "Task":
        problems.append(Problem("Task.resourceType", "the body must be a Task"))
    new_status = proposed.get("status")
    if not isinstance(new_status, str):
        problems.append(Problem("Task.status", "Task.status is required"))
        return problems
    problems += transition_problems(str(current.get("status")), new_status, roles)
    if new_status != current.get("status"):
        problems += reason_problems(proposed)
    return problems


def mirror_allowed(current: str, remote: str) -> bool:
    """Whether a status read from the recipient's own system may be mirrored locally.

    Polling can miss intermediate steps (accepted, then completed between two polls),
    so any move out of a non-terminal status to a status the recipient (or either
    party) sets is mirrored.
    """
    return (
        current not in TERMINAL_STATUSES
        and remote != current
        and remote in RECIPIENT_STATUSES | EITHER_STATUSES
    )
