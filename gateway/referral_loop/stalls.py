"""Stalled referrals: a Task not accepted within its destination's window raises an alert
(audit entry, metric, webhook to the submitting app), once per Task.

The window is the destination's ``stall_after_seconds`` when set. Otherwise by
urgency: ``stat`` 1 hour, ``asap`` 4 hours, ``urgent`` 1 business day, ``routine``
2 business days (Monday to Friday, no holiday calendar). Crisis destinations are
watched here only when ``stall_after_seconds`` is set: their acknowledgement SLA
(``ack_sla_seconds``) and escalation belong to ``gateway.crisis``. The clock starts
when the Task reached its recipient.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.audit.recorder import AuditRecorder, append_entry
from gateway.config import AnyDestination, GatewayConfig
from gateway.context import Clock, fhir_instant
from gateway.destinations.registry import stalls_by_urgency
from gateway.logging import get_logger
from gateway.metrics import Metrics
from gateway.referral_loop.loop_audit import stall_event
from gateway.referral_loop.milestones import ACCEPTED_OR_LATER
from gateway.referral_loop.outbox import (
    APP_WEBHOOK,
    STALLED,
    app_webhook_enabled,
    message_id,
)
from gateway.referral_loop.outbox import queue as queue_notification
from gateway.referral_loop.task_rules import TERMINAL_STATUSES
from gateway.store.tables import referrals
from gateway.store.tables_loop import task_milestones

log = get_logger("gateway.referral_loop.stalls")
URGENCY_HOURS = {"stat": 1, "asap": 4}
URGENCY_BUSINESS_DAYS = {"urgent": 1, "routine": 2}


def add_business_days(start: datetime, days: int) -> datetime:
    """``start`` moved ``days`` working days (Mon-Fri) on; a weekend start counts from Monday."""
    moment = start
    while moment.weekday() >= 5:
        moment = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    added = 0
    while added < days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment


def stall_deadline(
    destination: AnyDestination, urgency: str, requested_at: datetime
) -> datetime | None:
    """When a Task sent to ``destination`` at ``requested_at`` counts as stalled (None: never
    here)."""
    if destination.stall_after_seconds is not None:
        return requested_at + timedelta(seconds=destination.stall_after_seconds)
    if not stalls_by_urgency(destination):
        return None
    if urgency in URGENCY_HOURS:
        return requested_at + timedelta(hours=URGENCY_HOURS[urgency])
    return add_business_days(requested_at, URGENCY_BUSINESS_DAYS.get(urgency, 2))


class StallWatch:
    def __init__(
        self,
        engine: AsyncEngine,
        config: GatewayConfig,
        *,
        clock: Clock,
        audit: AuditRecorder,
        metrics: Metrics,
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.audit = audit
        self.metrics = metrics

    async def check(self) -> int:
        """Raise an alert for every Task newly found stalled; returns how many."""
        now = self.clock()
        waiting = task_milestones.c.status.not_in(ACCEPTED_OR_LATER | TERMINAL_STATUSES)
        raised = 0
        async with self.engine.begin() as conn:
            rows = list(
                await conn.execute(
                    select(task_milestones)
                    .where(task_milestones.c.stalled_at.is_(None), waiting)
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                try:
                    destination = self.config.destination(row.destination)
                except KeyError:
                    continue
                deadline = stall_deadline(destination, row.urgency, row.requested_at)
                if deadline is None or now < deadline:
                    continue
                await self._alert(conn, row, now)
                raised += 1
        return raised

    async def _alert(self, conn: AsyncConnection, row: Any, now: datetime) -> None:
        await conn.execute(
            update(task_milestones)
            .where(task_milestones.c.task_id == row.task_id)
            .values(stalled_at=now, updated_at=now)
        )
        patient_id = (
            await conn.execute(
                select(referrals.c.patient_id).where(referrals.c.id == row.referral_id)
            )
        ).scalar_one()
        event = stall_event(
            self.audit.gateway,
            referral_id=row.referral_id,
            task_id=row.task_id,
            destination=row.destination,
            patient_id=patient_id,
            at=fhir_instant(now),
        )
        await append_entry(
            conn,
            event,
            event_type="referral-stalled",
            now=now,
            referral_id=row.referral_id,
            patient_id=patient_id,
        )
        if await app_webhook_enabled(conn, row.client_id):
            data: dict[str, Any] = {
                "referral_id": row.referral_id,
                "task_id": row.task_id,
                "destination": row.destination,
                "status": row.status,
                "waiting_since": fhir_instant(row.requested_at),
                "links": {
                    "referral": f"/referrals/{row.referral_id}",
                    "task": f"/fhir/Task/{row.task_id}",
                },
            }
            await queue_notification(
                conn,
                msg_id=message_id(APP_WEBHOOK, row.task_id, STALLED),
                channel=APP_WEBHOOK,
                target=row.client_id,
                kind=STALLED,
                payload={"type": STALLED, "timestamp": fhir_instant(now), "data": data},
                now=now,
                referral_id=row.referral_id,
                task_id=row.task_id,
            )
        self.metrics.stalls.labels(row.destination).inc()
        log.warning("referral.stalled", referral_id=row.referral_id, destination=row.destination)
