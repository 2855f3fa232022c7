"""The crisis desk's queue: unacknowledged crisis deliveries, oldest first.

A delivery that is failing (attempted, not yet delivered) or dead-lettered is listed
too, flagged, so a person is never silently dropped. Each item carries only what a
responder needs to call the person: name, phone, preferred language, the
plain-language reason, the risk level, and the acknowledgement deadline
(``ack_sla_seconds`` after it reached the desk).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.config import GatewayConfig
from gateway.console.disclosure import disclosed_bundle, resources
from gateway.console.facts import language, person_name, phones
from gateway.context import Clock
from gateway.store.tables import deliveries, referrals
from gateway.store.tables_crisis import crisis_acknowledgements, escalations

LISTED = ("pending", "delivering", "delivered", "dead")


@dataclass(frozen=True)
class QueueItem:
    referral_id: str
    patient_id: str
    delivery_id: str
    destination: str
    name: str
    phones: list[str]
    language: str | None
    risk_level: str
    reason: str
    arrived_at: datetime
    deadline: datetime
    flag: str | None
    escalation: str | None


def _flag(row: Any) -> str | None:
    if row.status == "dead":
        return "Delivery dead-lettered"
    if row.status != "delivered" and row.attempts > 0:
        return "Delivery failing"
    if row.status != "delivered":
        return "Not yet delivered"
    return None


def _reason(explanation: bytes) -> str:
    risk = orjson.loads(explanation).get("risk") or {}
    return str(risk.get("rationale") or risk.get("summary") or "")


async def crisis_queue(
    conn: AsyncConnection, config: GatewayConfig, desks: list[str], clock: Clock
) -> list[QueueItem]:
    """The unacknowledged crisis deliveries to ``desks``, oldest first."""
    crisis = {d.name: d for d in config.crisis_destinations if d.name in desks}
    if not crisis:
        return []
    acknowledged = select(crisis_acknowledgements.c.delivery_id)
    rows = list(
        await conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.referral_id,
                deliveries.c.destination,
                deliveries.c.status,
                deliveries.c.attempts,
                deliveries.c.created_at,
                deliveries.c.delivered_at,
                referrals.c.bundle,
                referrals.c.consent_id,
                referrals.c.risk_level,
                referrals.c.patient_id,
                referrals.c.explanation,
            )
            .join(referrals, referrals.c.id == deliveries.c.referral_id)
            .where(
                deliveries.c.destination.in_(list(crisis)),
                deliveries.c.status.in_(LISTED),
                deliveries.c.id.not_in(acknowledged),
            )
            .order_by(deliveries.c.created_at)
        )
    )
    steps: dict[str, str] = {}
    if rows:
        for step in await conn.execute(
            select(escalations)
            .where(escalations.c.delivery_id.in_([r.id for r in rows]))
            .order_by(escalations.c.step)
        ):
            steps[step.delivery_id] = (
                f"Escalated (step {step.step}) to {step.contact}: {step.outcome}"
            )
    items = []
    for row in rows:
        destination = crisis[row.destination]
        bundle = await disclosed_bundle(conn, row, destination, clock)
        patients = resources(bundle, "Patient")
        patient = patients[0] if patients else None
        arrived = row.delivered_at or row.created_at
        items.append(
            QueueItem(
                referral_id=row.referral_id,
                patient_id=row.patient_id,
                delivery_id=row.id,
                destination=row.destination,
                name=person_name(patient),
                phones=phones(patient),
                language=language(patient),
                risk_level=row.risk_level,
                reason=_reason(row.explanation),
                arrived_at=arrived,
                deadline=arrived + timedelta(seconds=destination.ack_sla_seconds),
                flag=_flag(row),
                escalation=steps.get(row.id),
            )
        )
    items.sort(key=lambda item: item.arrived_at)
    return items
