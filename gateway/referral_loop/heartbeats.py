"""Heartbeats for active subscriptions (R4 Subscriptions Backport, ``backport-heartbeat-period``):
when nothing was sent to an endpoint for its period, a ``heartbeat`` notification is
queued (one at a time per subscription), so the receiver knows the channel is alive.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.context import fhir_instant
from gateway.delivery.status import OPEN
from gateway.referral_loop.outbox import SUBSCRIPTION, message_id, queue
from gateway.store.tables_loop import notifications, subscriptions


def heartbeat_due(last_sent_at: datetime | None, period_seconds: int, now: datetime) -> bool:
    return last_sent_at is None or now - last_sent_at >= timedelta(seconds=period_seconds)


async def queue_heartbeats(conn: AsyncConnection, now: datetime) -> int:
    """Queue a heartbeat for each active subscription that is due one; returns how many."""
    rows = await conn.execute(
        select(subscriptions).where(
            subscriptions.c.status == "active", subscriptions.c.heartbeat_seconds.is_not(None)
        )
    )
    queued = 0
    for sub in list(rows):
        if not heartbeat_due(sub.last_sent_at, sub.heartbeat_seconds, now):
            continue
        waiting = (
            await conn.execute(
                select(notifications.c.id).where(
                    notifications.c.target == sub.id,
                    notifications.c.kind == "heartbeat",
                    notifications.c.status.in_(OPEN),
                )
            )
        ).first()
        if waiting is not None:
            continue
        queued += await queue(
            conn,
            msg_id=message_id(SUBSCRIPTION, sub.id, "heartbeat", fhir_instant(now)),
            channel=SUBSCRIPTION,
            target=sub.id,
            kind="heartbeat",
            payload={"type": "heartbeat"},
            now=now,
        )
    return queued
