"""A referral's overall status once recipients act on it, from its per-destination Tasks.

The most advanced Task speaks for the referral (completed > in-progress > accepted >
on-hold > received); when every Task is closed without care the referral is
``rejected``, ``failed`` or ``cancelled``. ``None`` means no recipient has acted yet,
so the delivery status (set by the worker) still describes the referral. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.delivery.status import SETTLED, DeliveryStatus
from gateway.store import fhir_store
from gateway.store.tables import deliveries, referrals

PROGRESS_ORDER = ("completed", "in-progress", "accepted", "on-hold", "received")
CLOSED_ORDER = ("rejected", "failed", "cancelled")
UNCOUNTED = frozenset({"entered-in-error", "draft"})
NOTHING_SENT = frozenset({DeliveryStatus.WITHHELD, DeliveryStatus.CANCELLED})


def loop_status(task_statuses: Iterable[str]) -> str | None:
    """The referral status the Tasks' statuses add up to (see module docstring)."""
    statuses = [s for s in task_statuses if s not in UNCOUNTED]
    for status in PROGRESS_ORDER:
        if status in statuses:
            return status
    if statuses and all(s in CLOSED_ORDER for s in statuses):
        return next(s for s in CLOSED_ORDER if s in statuses)
    return None


async def refresh_referral_status(conn: AsyncConnection, referral_id: str) -> str | None:
    """Write the loop status onto ``referrals.status`` when recipients have acted."""
    task_ids = [
        row[0]
        for row in await conn.execute(
            select(deliveries.c.task_id).where(
                deliveries.c.referral_id == referral_id,
                deliveries.c.task_id.is_not(None),
                # only Tasks a recipient could act on
                deliveries.c.status == DeliveryStatus.DELIVERED,
            )
        )
    ]
    statuses = []
    for task_id in task_ids:
        stored = await fhir_store.read(conn, "Task", task_id)
        if stored is not None:
            statuses.append(str(stored.body.get("status")))
    status = loop_status(statuses)
    if status is not None:
        await conn.execute(
            update(referrals).where(referrals.c.id == referral_id).values(status=status)
        )
    return status


async def refresh_after_delivery(conn: AsyncConnection, referral_id: str, now: datetime) -> None:
    """After a delivery's outcome: the delivery status, unless the loop's status speaks."""
    statuses = [
        row[0]
        for row in await conn.execute(
            select(deliveries.c.status).where(deliveries.c.referral_id == referral_id)
        )
    ]
    await conn.execute(
        update(referrals)
        .where(referrals.c.id == referral_id)
        .values(status=delivery_status(statuses), updated_at=now)
    )
    # Once a recipient has acted on a delivered Task, the loop's status speaks instead.
    await refresh_referral_status(conn, referral_id)


def delivery_status(delivery_statuses: list[str]) -> str:
    """The referral's delivery status, derived from its deliveries."""
    if any(s == DeliveryStatus.DEAD for s in delivery_statuses):
        return "needs-attention"
    if all(s == DeliveryStatus.WITHHELD for s in delivery_statuses):
        return "withheld"
    if all(s in NOTHING_SENT for s in delivery_statuses):
        return "cancelled"
    if all(s in SETTLED for s in delivery_statuses):
        return "delivered"
    if any(s == DeliveryStatus.DELIVERED for s in delivery_statuses):
        return "partially-delivered"
    return "accepted"
