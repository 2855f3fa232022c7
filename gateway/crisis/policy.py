"""When the next escalation step is due, and whom it goes to (pure: ``now`` comes in).

The rules (docs/crisis.md):

- A delivered crisis delivery not acknowledged within the SLA gets step 1 at
  ``delivered_at + sla``; a dead-lettered one gets step 1 at once.
- Step N+1 follows step N after another SLA period, going to the next contact
  of ``escalation:``; after the last contact, the last one again, every period,
  until somebody acknowledges.
- A step whose webhook failed does not wait: the next contact gets the next
  step on the next pass. When the failed step was already the last contact,
  the next attempt waits one SLA period (no hammering a dead endpoint).
- With no contacts at all, every step is an alert to the operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

FAILED = "failed"
Reason = Literal["sla", "dead-letter"]


@dataclass(frozen=True)
class PastStep:
    step: int
    at: datetime
    outcome: str


@dataclass(frozen=True)
class Unacknowledged:
    """A crisis delivery nobody has acknowledged, with the steps already taken."""

    dead: bool
    since: datetime
    """When it landed (delivered) or when it was dead-lettered."""
    history: tuple[PastStep, ...] = ()


@dataclass(frozen=True)
class PlannedStep:
    step: int
    contact_index: int | None
    """Index into ``escalation:``; ``None`` means an alert (no contact configured)."""
    reason: Reason
    unacknowledged_seconds: float


def contact_for(step: int, contacts: int) -> int | None:
    """Step 1 goes to the first contact, ...; past the last, the last one again."""
    if contacts == 0:
        return None
    return min(step - 1, contacts - 1)


def due_at(pending: Unacknowledged, *, sla: timedelta, contacts: int) -> datetime:
    """When the next step is due."""
    if not pending.history:
        return pending.since if pending.dead else pending.since + sla
    last = pending.history[-1]
    index = contact_for(last.step, contacts)
    if last.outcome == FAILED and index is not None and index < contacts - 1:
        return last.at
    return last.at + sla


def next_step(
    pending: Unacknowledged, *, sla: timedelta, contacts: int, now: datetime
) -> PlannedStep | None:
    """The step to take now, or ``None`` when none is due yet."""
    if now < due_at(pending, sla=sla, contacts=contacts):
        return None
    step = pending.history[-1].step + 1 if pending.history else 1
    return PlannedStep(
        step=step,
        contact_index=contact_for(step, contacts),
        reason="dead-letter" if pending.dead else "sla",
        unacknowledged_seconds=max((now - pending.since).total_seconds(), 0.0),
    )
