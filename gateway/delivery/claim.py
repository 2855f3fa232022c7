"""What a worker holds while it delivers: one leased delivery and its referral's facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.context import fhir_instant
from gateway.store.tables import referrals


@dataclass(frozen=True)
class Claim:
    delivery_id: str
    referral_id: str
    destination: str
    lane: int
    attempts: int
    purpose: str
    task_id: str | None
    patient_id: str
    client_id: str
    risk_level: str
    urgency: str
    consent_id: str | None
    accepted_at: str
    bundle: dict[str, Any]


async def claim_for(conn: AsyncConnection, row: Any, attempt: int) -> Claim:
    """The claim for the delivery ``row``, leased for ``attempt``, with its referral."""
    ref = (await conn.execute(select(referrals).where(referrals.c.id == row.referral_id))).one()
    return Claim(
        delivery_id=row.id,
        referral_id=row.referral_id,
        destination=row.destination,
        lane=row.lane,
        attempts=attempt,
        purpose=row.purpose,
        task_id=row.task_id,
        patient_id=ref.patient_id,
        client_id=ref.client_id,
        risk_level=ref.risk_level,
        urgency=ref.urgency,
        consent_id=ref.consent_id,
        accepted_at=fhir_instant(ref.created_at),
        bundle=orjson.loads(ref.bundle),
    )
