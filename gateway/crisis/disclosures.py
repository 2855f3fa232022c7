"""Emergency disclosures surfaced for review (42 CFR 2.51; CONTRACT.md "Emergency").

The worker records each disclosure made under ``ETREAT`` without consent as an
``emergency-disclosure`` audit entry carrying the 42 CFR 2.51(c) facts. Operators
list them here and mark each one reviewed. The audit log is append-only, so a
review is its own row (``emergency_disclosure_reviews``) and is audited in turn.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit.recorder import AuditRecorder
from gateway.context import fhir_instant
from gateway.crisis.acknowledge import Caller, Statement
from gateway.errors import NotFound
from gateway.store.tables import audit_log
from gateway.store.tables_crisis import emergency_disclosure_reviews

EVENT_TYPE = "emergency-disclosure"


def _instant(moment: datetime) -> str:
    return fhir_instant(moment, "auto")


def disclosure_facts(entry: dict[str, Any]) -> dict[str, str]:
    """The 42 CFR 2.51(c) details recorded on an emergency-disclosure AuditEvent."""
    return {
        detail["type"]: detail.get("valueString", "")
        for entity in entry.get("entity", [])
        for detail in entity.get("detail", [])
        if detail.get("type")
    }


def _review_view(row: Any) -> dict[str, Any]:
    return {
        "by": row.reviewed_by,
        "at": _instant(row.reviewed_at),
        "client_id": row.client_id,
        "note": row.note,
    }


def _item(row: Any, review: Any | None) -> dict[str, Any]:
    facts = disclosure_facts(orjson.loads(row.entry))
    return {
        "seq": row.seq,
        "referral_id": row.referral_id,
        "recipient": facts.get("recipient"),
        "recipient_affiliation": facts.get("recipient-affiliation"),
        "disclosed_at": facts.get("disclosed-at") or _instant(row.recorded_at),
        "disclosed_by": facts.get("disclosed-by"),
        "nature_of_emergency": facts.get("nature-of-emergency"),
        "reviewed": review is not None,
        "review": _review_view(review) if review is not None else None,
    }


class EmergencyDisclosures:
    def __init__(self, engine: AsyncEngine, audit: AuditRecorder) -> None:
        self.engine = engine
        self.audit = audit

    async def list(self, *, reviewed: bool | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Oldest first; ``reviewed`` filters on whether a review is on record."""
        query = (
            select(audit_log, emergency_disclosure_reviews)
            .join(
                emergency_disclosure_reviews,
                emergency_disclosure_reviews.c.audit_seq == audit_log.c.seq,
                isouter=True,
            )
            .where(audit_log.c.event_type == EVENT_TYPE)
            .order_by(audit_log.c.seq)
            .limit(limit)
        )
        if reviewed is True:
            query = query.where(emergency_disclosure_reviews.c.audit_seq.is_not(None))
        elif reviewed is False:
            query = query.where(emergency_disclosure_reviews.c.audit_seq.is_(None))
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query))
        return [_item(row, row if row.audit_seq is not None else None) for row in rows]

    async def review(
        self, seq: int, review: Statement, caller: Caller, now: datetime
    ) -> dict[str, Any]:
        """Mark disclosure ``seq`` reviewed; a repeat keeps the first review and returns it."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(audit_log).where(
                        audit_log.c.seq == seq, audit_log.c.event_type == EVENT_TYPE
                    )
                )
            ).first()
            if row is None:
                raise NotFound(f"No emergency disclosure {seq}.")
            existing = (
                await conn.execute(
                    select(emergency_disclosure_reviews).where(
                        emergency_disclosure_reviews.c.audit_seq == seq
                    )
                )
            ).first()
            if existing is None:
                await conn.execute(
                    insert(emergency_disclosure_reviews).values(
                        audit_seq=seq,
                        reviewed_by=review.by,
                        client_id=caller.client_id,
                        note=review.note,
                        reviewed_at=now,
                    )
                )
                await self.audit.emergency_disclosure_reviewed(
                    conn,
                    seq=seq,
                    referral_id=row.referral_id,
                    patient_id=row.patient_id,
                    person=review.by,
                    client_id=caller.client_id,
                    now=now,
                )
                existing = (
                    await conn.execute(
                        select(emergency_disclosure_reviews).where(
                            emergency_disclosure_reviews.c.audit_seq == seq
                        )
                    )
                ).one()
        return _item(row, existing)
