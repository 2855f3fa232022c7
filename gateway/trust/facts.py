"""The facts the transparency report is computed from, read from the database.

A referral belongs to the UTC day the gateway received it (``referrals.created_at``);
its deliveries, crisis acknowledgements, Task milestones, reviews and CDS feedback
come with it. Consent withdrawals are counted by the day they were recorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.cds.feedback import load_cds_feedback as cds_feedback_of
from gateway.config import GatewayConfig
from gateway.store.tables import audit_log, deliveries, referrals
from gateway.store.tables_crisis import crisis_acknowledgements
from gateway.store.tables_loop import task_milestones
from gateway.store.tables_trust import reviews
from gateway.trust.cards import referral_model
from gateway.trust.figures import CrisisFact, Facts, Period, ReferralFact, ReviewFact, TaskFact

CHUNK = 500
T = TypeVar("T")


def bounds(period: Period) -> tuple[datetime, datetime]:
    """The period as instants: from the first day's midnight UTC to the day after the last."""
    start = datetime.combine(period.start, time(), tzinfo=UTC)
    return start, datetime.combine(period.end, time(), tzinfo=UTC) + timedelta(days=1)


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for index in range(0, len(items), CHUNK):
        yield items[index : index + CHUNK]


async def load_cds_feedback(
    conn: AsyncConnection, referral_ids: Sequence[str]
) -> list[tuple[str, str]]:
    """CDS Hooks feedback per referral: (referral id, ``accepted`` | ``overridden``), the
    latest of each card (the CDS Hooks service keeps them: ``gateway.cds.feedback``)."""
    found: list[tuple[str, str]] = []
    for chunk in _chunks(list(referral_ids)):
        found.extend(await cds_feedback_of(conn, list(chunk)))
    return found


async def load_facts(conn: AsyncConnection, config: GatewayConfig, period: Period) -> Facts:
    start, end = bounds(period)
    rows = list(
        await conn.execute(
            select(
                referrals.c.id,
                referrals.c.created_at,
                referrals.c.risk_level,
                referrals.c.explanation,
                referrals.c.response,
            ).where(referrals.c.created_at >= start, referrals.c.created_at < end)
        )
    )
    ids = [row.id for row in rows]
    crisis_sla = {d.name: d.ack_sla_seconds for d in config.crisis_destinations}
    delivered: set[str] = set()
    crisis: dict[str, list[tuple[str, datetime | None, str]]] = {}
    tasks: dict[str, list[TaskFact]] = {}
    acks: dict[str, datetime] = {}
    review_facts: list[ReviewFact] = []
    for chunk in _chunks(ids):
        for d in await conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.referral_id,
                deliveries.c.destination,
                deliveries.c.status,
                deliveries.c.delivered_at,
            ).where(deliveries.c.referral_id.in_(chunk))
        ):
            if d.status == "delivered":
                delivered.add(d.referral_id)
            if d.destination in crisis_sla:
                crisis.setdefault(d.referral_id, []).append((d.id, d.delivered_at, d.destination))
        for a in await conn.execute(
            select(
                crisis_acknowledgements.c.delivery_id, crisis_acknowledgements.c.acknowledged_at
            ).where(crisis_acknowledgements.c.referral_id.in_(chunk))
        ):
            acks[a.delivery_id] = a.acknowledged_at
        for m in await conn.execute(
            select(
                task_milestones.c.referral_id,
                task_milestones.c.status,
                task_milestones.c.accepted_at,
            ).where(task_milestones.c.referral_id.in_(chunk))
        ):
            tasks.setdefault(m.referral_id, []).append(TaskFact(m.status, m.accepted_at))
        for r in await conn.execute(
            select(
                reviews.c.referral_id,
                reviews.c.reviewer,
                reviews.c.risk_level,
                reviews.c.reviewed_at,
            ).where(reviews.c.referral_id.in_(chunk))
        ):
            review_facts.append(ReviewFact(r.referral_id, r.reviewer, r.risk_level, r.reviewed_at))
    facts = []
    for row in rows:
        name, version = referral_model(orjson.loads(row.explanation))
        facts.append(
            ReferralFact(
                referral_id=row.id,
                received_at=row.created_at,
                model_name=name,
                model_version=version,
                risk_level=row.risk_level,
                emergency=_emergency(orjson.loads(row.response)),
                delivered=row.id in delivered,
                crisis=tuple(
                    CrisisFact(
                        since=landed or row.created_at,
                        sla_seconds=crisis_sla[destination],
                        acknowledged_at=acks.get(delivery_id),
                    )
                    for delivery_id, landed, destination in crisis.get(row.id, [])
                ),
                tasks=tuple(tasks.get(row.id, [])),
            )
        )
    withdrawals = (
        await conn.execute(
            select(func.count()).where(
                audit_log.c.event_type == "consent-revoked",
                audit_log.c.recorded_at >= start,
                audit_log.c.recorded_at < end,
            )
        )
    ).scalar_one()
    return Facts(
        referrals=facts,
        reviews=review_facts,
        cds_feedback=await load_cds_feedback(conn, ids),
        consent_withdrawals=int(withdrawals),
    )


def _emergency(response: dict[str, Any]) -> bool:
    """Whether a route went ahead under ``ETREAT``: an emergency disclosure."""
    return any(
        route.get("emergency") and route.get("decision") == "permit"
        for route in response.get("routing", [])
    )
