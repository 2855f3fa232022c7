"""Operator actions on dead letters, shared by the CLI (``gateway dlq``) and the API
(``/operations/dead-letters``): list them, and put one back in the queue (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit import balp
from gateway.audit.recorder import AuditRecorder, append_entry, client_party, patient_ref
from gateway.context import fhir_instant
from gateway.delivery.status import DeliveryStatus
from gateway.store.tables import deliveries, referrals


@dataclass(frozen=True)
class DeadLetter:
    delivery_id: str
    referral_id: str
    destination: str
    attempts: int
    reason: str | None
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "referral_id": self.referral_id,
            "destination": self.destination,
            "attempts": self.attempts,
            "reason": self.reason,
            "updated_at": self.updated_at.isoformat(),
        }


async def dead_letters(conn: AsyncConnection) -> list[DeadLetter]:
    rows = await conn.execute(
        select(deliveries)
        .where(deliveries.c.status == DeliveryStatus.DEAD)
        .order_by(deliveries.c.updated_at)
    )
    return [
        DeadLetter(r.id, r.referral_id, r.destination, r.attempts, r.last_error, r.updated_at)
        for r in rows
    ]


async def replay_dead_letter(
    conn: AsyncConnection, delivery_id: str, now: datetime, *, audit: AuditRecorder, operator: str
) -> bool:
    """Put a dead-lettered delivery back in the queue with a fresh attempt budget (audited)."""
    row = (
        await conn.execute(
            select(deliveries.c.referral_id, deliveries.c.destination, referrals.c.patient_id)
            .join(referrals, referrals.c.id == deliveries.c.referral_id)
            .where(deliveries.c.id == delivery_id, deliveries.c.status == DeliveryStatus.DEAD)
        )
    ).first()
    if row is None:
        return False
    result = await conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status == DeliveryStatus.DEAD)
        .values(
            status=DeliveryStatus.DEAD.to(DeliveryStatus.PENDING),
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            claimed_by=None,
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        return False
    entry = balp.operator_action(
        recorded=fhir_instant(now),
        gateway=audit.gateway,
        operator=client_party(operator),
        description=f"Dead-lettered delivery to '{row.destination}' queued again",
        what={"identifier": {"system": "urn:referral-gateway:delivery", "value": delivery_id}},
        patient=patient_ref(row.patient_id),
    )
    await append_entry(
        conn,
        entry,
        event_type="delivery-replayed",
        now=now,
        referral_id=row.referral_id,
        patient_id=row.patient_id,
    )
    return True
