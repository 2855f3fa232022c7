"""``POST /referrals/{id}/acknowledge``: a person says they have the crisis referral.

Who may acknowledge: an operator (a token with ``system/*.rs``) for every crisis
delivery of the referral, or the client named as a crisis destination's
``client_id`` for that destination's delivery. The first acknowledgement of a
delivery is kept; a repeat answers with it and changes nothing.

Refusals: the submitting app, which may see the referral, gets 403; any other
client gets the same 404 as for a referral that does not exist; an operator
acknowledging a referral that has no crisis delivery gets 422 (business-rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.audit.recorder import AuditRecorder
from gateway.config import GatewayConfig
from gateway.context import fhir_instant
from gateway.errors import BusinessRuleViolation, Forbidden, NotFound
from gateway.logging import get_logger
from gateway.metrics import Metrics
from gateway.store.tables import deliveries, referrals
from gateway.store.tables_crisis import crisis_acknowledgements

log = get_logger("gateway.crisis")


@dataclass(frozen=True)
class Caller:
    client_id: str
    is_operator: bool
    desks: frozenset[str] | None = None
    """A console crisis responder's destinations: it acknowledges their deliveries only."""


@dataclass(frozen=True)
class Statement:
    """What a person puts on record: who they are, and an optional note."""

    by: str
    note: str | None = None


def acknowledgement_view(row: Any) -> dict[str, Any]:
    return {
        "delivery_id": row.delivery_id,
        "destination": row.destination,
        "by": row.acknowledged_by,
        "at": fhir_instant(row.acknowledged_at, "auto"),
        "client_id": row.client_id,
        "note": row.note,
    }


class AcknowledgementService:
    def __init__(
        self, engine: AsyncEngine, config: GatewayConfig, audit: AuditRecorder, metrics: Metrics
    ) -> None:
        self.engine = engine
        self.crisis = {d.name: d for d in config.crisis_destinations}
        self.audit = audit
        self.metrics = metrics

    async def acknowledge(
        self, referral_id: str, ack: Statement, caller: Caller, now: datetime
    ) -> dict[str, Any]:
        """Record ``ack`` on every crisis delivery ``caller`` may acknowledge; the view after."""
        try:
            return await self._acknowledge(referral_id, ack, caller, now)
        except IntegrityError:
            # Another acknowledgement landed at the same moment: the first one is kept.
            return await self._acknowledge(referral_id, ack, caller, now)

    async def _acknowledge(
        self, referral_id: str, ack: Statement, caller: Caller, now: datetime
    ) -> dict[str, Any]:
        ack_times: list[tuple[str, float]] = []
        async with self.engine.begin() as conn:
            referral = (
                await conn.execute(select(referrals).where(referrals.c.id == referral_id))
            ).first()
            if referral is None:
                raise NotFound(f"No referral {referral_id} for this client.")
            targets = await self._targets(conn, referral, caller)
            existing = {
                row.delivery_id: row
                for row in await conn.execute(
                    select(crisis_acknowledgements).where(
                        crisis_acknowledgements.c.delivery_id.in_([t.id for t in targets])
                    )
                )
            }
            for target in targets:
                if target.id in existing:
                    continue
                await conn.execute(
                    insert(crisis_acknowledgements).values(
                        delivery_id=target.id,
                        referral_id=referral_id,
                        destination=target.destination,
                        acknowledged_by=ack.by,
                        client_id=caller.client_id,
                        note=ack.note,
                        acknowledged_at=now,
                    )
                )
                await self.audit.crisis_acknowledged(
                    conn,
                    referral_id=referral_id,
                    patient_id=referral.patient_id,
                    destination=target.destination,
                    person=ack.by,
                    client_id=caller.client_id,
                    now=now,
                )
                if target.delivered_at is not None:
                    seconds = (now - target.delivered_at).total_seconds()
                    ack_times.append((target.destination, max(seconds, 0.0)))
            rows = list(
                await conn.execute(
                    select(crisis_acknowledgements)
                    .where(crisis_acknowledgements.c.delivery_id.in_([t.id for t in targets]))
                    .order_by(crisis_acknowledgements.c.destination)
                )
            )
        for destination, seconds in ack_times:
            self.metrics.crisis_ack_seconds.labels(destination).observe(seconds)
            log.info(
                "crisis.acknowledged",
                referral_id=referral_id,
                destination=destination,
                client_id=caller.client_id,
            )
        return {
            "referral_id": referral_id,
            "acknowledgements": [acknowledgement_view(row) for row in rows],
        }

    async def _targets(self, conn: AsyncConnection, referral: Any, caller: Caller) -> list[Any]:
        crisis_deliveries = list(
            await conn.execute(
                select(deliveries.c.id, deliveries.c.destination, deliveries.c.delivered_at)
                .where(
                    deliveries.c.referral_id == referral.id,
                    deliveries.c.destination.in_(list(self.crisis)),
                )
                .order_by(deliveries.c.destination)
            )
        )
        if caller.desks is not None:
            desk = [d for d in crisis_deliveries if d.destination in caller.desks]
            if desk:
                return desk
            raise NotFound(f"No referral {referral.id} for this client.")
        if caller.is_operator:
            if not crisis_deliveries:
                raise BusinessRuleViolation(
                    f"Referral {referral.id} has no crisis delivery: there is nothing to "
                    "acknowledge."
                )
            return crisis_deliveries
        mine = [
            d for d in crisis_deliveries if self.crisis[d.destination].client_id == caller.client_id
        ]
        if mine:
            return mine
        if referral.client_id == caller.client_id:
            raise Forbidden(
                "Only an operator or the crisis service the referral went to may acknowledge it."
            )
        raise NotFound(f"No referral {referral.id} for this client.")
