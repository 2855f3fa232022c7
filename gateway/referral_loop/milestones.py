"""Per-Task milestones of the closed loop: when a recipient could first see the
referral, accepted it, completed it, and when it was found stalled.

They feed the loop metrics (time to acceptance, time to completion, stalled count,
SLA breaches) and the stall check; one row per destination Task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.fhir_task import DESTINATION_SYSTEM
from gateway.store.tables import referrals
from gateway.store.tables_loop import task_milestones

ACCEPTED_OR_LATER = frozenset({"accepted", "in-progress", "on-hold", "completed"})


def task_destination(task: dict[str, Any]) -> str:
    """The destination that owns ``task`` (its owner's identifier, else its reference)."""
    owner = task.get("owner") or {}
    identifier = owner.get("identifier") or {}
    if identifier.get("system") == DESTINATION_SYSTEM and identifier.get("value"):
        return str(identifier["value"])
    return str(owner.get("reference", "")).removeprefix("Organization/")


async def ensure_milestone(
    conn: AsyncConnection, *, referral_id: str, task: dict[str, Any], requested_at: datetime
) -> None:
    """Start tracking ``task`` (idempotent); ``requested_at`` is when it reached its owner."""
    exists = (
        await conn.execute(
            select(task_milestones.c.task_id).where(task_milestones.c.task_id == task["id"])
        )
    ).first()
    if exists is not None:
        return
    referral = (
        await conn.execute(
            select(referrals.c.client_id, referrals.c.urgency, referrals.c.created_at).where(
                referrals.c.id == referral_id
            )
        )
    ).one()
    await conn.execute(
        insert(task_milestones).values(
            task_id=task["id"],
            referral_id=referral_id,
            destination=task_destination(task),
            client_id=referral.client_id,
            urgency=referral.urgency,
            status=str(task.get("status")),
            submitted_at=referral.created_at,
            requested_at=requested_at,
            updated_at=requested_at,
        )
    )


async def record_status(conn: AsyncConnection, task_id: str, status: str, now: datetime) -> None:
    """Note ``status``; the first acceptance and the completion are stamped with ``now``."""
    row = (
        await conn.execute(select(task_milestones).where(task_milestones.c.task_id == task_id))
    ).one()
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if status in ACCEPTED_OR_LATER and row.accepted_at is None:
        values["accepted_at"] = now
    if status == "completed" and row.completed_at is None:
        values["completed_at"] = now
    await conn.execute(
        update(task_milestones).where(task_milestones.c.task_id == task_id).values(**values)
    )
