"""The CDS service's reads and writes: open referrals of a person, cards issued, feedback."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.cds.cards import OpenReferral
from gateway.store import fhir_store
from gateway.store.tables import fhir_resources, referrals
from gateway.store.tables_cds import cds_cards, cds_feedback

CLOSED_TASK_STATUSES = frozenset(
    {"completed", "cancelled", "rejected", "failed", "entered-in-error"}
)
"""A referral is open while any of its Tasks is in none of these (FHIR R4 TaskStatus)."""
_STATUS_ORDER = ("in-progress", "accepted", "on-hold", "received", "ready", "requested", "draft")


@dataclass(frozen=True)
class StoredReferral:
    referral: OpenReferral
    patient_id: str
    bundle: dict[str, Any]
    consent: dict[str, Any] | None


async def patient_ids_for(conn: AsyncConnection, identifiers: list[tuple[str, str]]) -> list[str]:
    """The gateway's Patient ids carrying any of ``identifiers`` (system, value)."""
    found: list[str] = []
    for system, value in identifiers:
        found += await fhir_store.find_by_identifier(conn, "Patient", system, value)
    return list(dict.fromkeys(found))


def open_status(task_statuses: list[str]) -> str | None:
    """The status an open referral shows, or ``None`` when every Task is closed."""
    still_open = [s for s in task_statuses if s not in CLOSED_TASK_STATUSES]
    if not still_open:
        return None
    return next((s for s in _STATUS_ORDER if s in still_open), still_open[0])


async def open_referrals(conn: AsyncConnection, patient_ids: list[str]) -> list[StoredReferral]:
    """The person's referrals with an open Task, oldest first."""
    if not patient_ids:
        return []
    rows = (
        await conn.execute(
            select(referrals)
            .where(referrals.c.patient_id.in_(patient_ids))
            .order_by(referrals.c.created_at, referrals.c.id)
        )
    ).all()
    if not rows:
        return []
    statuses: dict[str, list[str]] = defaultdict(list)
    for referral_id, status in await conn.execute(
        select(fhir_resources.c.referral_id, fhir_resources.c.status).where(
            fhir_resources.c.resource_type == "Task",
            fhir_resources.c.referral_id.in_([row.id for row in rows]),
        )
    ):
        statuses[referral_id].append(str(status))
    found = []
    for row in rows:
        status = open_status(statuses.get(row.id, []))
        if status is None:
            continue
        consent = await fhir_store.read(conn, "Consent", row.consent_id or "")
        found.append(
            StoredReferral(
                referral=OpenReferral(
                    referral_id=row.id,
                    client_id=row.client_id,
                    risk_level=row.risk_level,
                    status=status,
                    received_at=row.created_at,
                    explanation=orjson.loads(row.explanation),
                ),
                patient_id=row.patient_id,
                bundle=orjson.loads(row.bundle),
                consent=consent.body if consent else None,
            )
        )
    return found


async def record_card(
    conn: AsyncConnection, card_uuid: str, iss: str, referral: OpenReferral, now: datetime
) -> None:
    """Remember that ``iss`` was shown this card (feedback may name only such a card).

    An upsert, so two chart openings at once cannot both try to insert it."""
    upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = upsert(cds_cards).values(
        card_uuid=card_uuid,
        iss=iss,
        referral_id=referral.referral_id,
        model_name=referral.model_name,
        model_version=referral.model_version,
        first_issued_at=now,
        last_issued_at=now,
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[cds_cards.c.card_uuid, cds_cards.c.iss],
            set_={"last_issued_at": now},
        )
    )


@dataclass(frozen=True)
class IssuedCard:
    card_uuid: str
    referral_id: str
    model_name: str
    model_version: str


async def issued_cards(
    conn: AsyncConnection, iss: str, card_uuids: list[str]
) -> dict[str, IssuedCard]:
    rows = await conn.execute(
        select(cds_cards).where(cds_cards.c.iss == iss, cds_cards.c.card_uuid.in_(card_uuids))
    )
    return {
        row.card_uuid: IssuedCard(row.card_uuid, row.referral_id, row.model_name, row.model_version)
        for row in rows
    }


async def store_feedback(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(cds_feedback), rows)
