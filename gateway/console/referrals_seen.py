"""What a console user may see of referrals: the inbox list and one referral's page.

A recipient (or crisis responder) sees the referrals delivered to its destinations,
each minimised to that destination's consent category (``disclosure``); an operator
sees every referral whole. Anything else is "not addressed to you": 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.config import GatewayConfig
from gateway.console.accounts import ConsoleRole
from gateway.console.disclosure import disclosed_bundle, resources
from gateway.console.facts import person_name
from gateway.context import Clock
from gateway.referral_loop.task_rules import Role, transition_problems
from gateway.store import fhir_store
from gateway.store.tables import deliveries, referrals

ACTIONS = (("accepted", "Accept"), ("rejected", "Reject"), ("in-progress", "Start"),
           ("completed", "Complete"))
"""Console buttons and the SDOH Task status each one sets."""
VISIBLE_TO_RECIPIENT = ("delivered",)
VISIBLE_TO_DESK = ("pending", "delivering", "delivered", "dead")
_COLUMNS = (
    deliveries.c.id,
    deliveries.c.referral_id,
    deliveries.c.destination,
    deliveries.c.status.label("delivery_status"),
    deliveries.c.task_id,
    referrals.c.created_at,
    referrals.c.bundle,
    referrals.c.consent_id,
    referrals.c.risk_level,
    referrals.c.urgency,
    referrals.c.pathway,
    referrals.c.patient_id,
    referrals.c.routing,
    referrals.c.explanation,
    referrals.c.status.label("referral_status"),
)


@dataclass
class DestinationPart:
    """One destination's share of a referral, as this user may see it."""

    destination: str
    delivery_id: str
    delivery_status: str
    bundle: dict[str, Any] | None
    why: str
    task: dict[str, Any] | None
    task_version: int | None
    actions: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SeenReferral:
    referral_id: str
    patient_id: str
    created_at: datetime
    risk_level: str
    urgency: str
    pathway: str
    status: str
    explanation: dict[str, Any]
    parts: list[DestinationPart]

    @property
    def name(self) -> str:
        for part in self.parts:
            patients = resources(part.bundle, "Patient")
            if patients:
                return person_name(patients[0])
        return person_name(None)

    @property
    def task_status(self) -> str:
        return ", ".join(str((p.task or {}).get("status", p.delivery_status)) for p in self.parts)


def _why(routing: bytes, destination: str) -> str:
    decided = orjson.loads(routing)
    routes = decided.get("routes", []) if isinstance(decided, dict) else decided
    for route in routes:
        if route.get("destination") == destination:
            return str(route.get("reason") or "")
    return ""


def allowed_actions(task: dict[str, Any] | None) -> list[tuple[str, str]]:
    if task is None:
        return []
    current = str(task.get("status"))
    return [
        (status, label)
        for status, label in ACTIONS
        if status != current
        and not transition_problems(current, status, frozenset({Role.RECIPIENT}))
    ]


def scope(
    role: ConsoleRole, destinations: tuple[str, ...]
) -> tuple[list[str] | None, tuple[str, ...]]:
    """The destinations (None: all) and delivery statuses this role sees."""
    if role is ConsoleRole.OPERATOR:
        return None, (*VISIBLE_TO_DESK, "withheld", "skipped", "cancelled")
    if role is ConsoleRole.CRISIS_RESPONDER:
        return list(destinations), VISIBLE_TO_DESK
    if role is ConsoleRole.RECIPIENT:
        return list(destinations), VISIBLE_TO_RECIPIENT
    return [], ()


async def _parts(
    conn: AsyncConnection, rows: list[Any], config: GatewayConfig, clock: Clock, whole: bool
) -> list[DestinationPart]:
    parts = []
    for row in rows:
        destination = config.destination(row.destination)
        if whole:
            bundle = orjson.loads(row.bundle) or None
        else:
            bundle = await disclosed_bundle(conn, row, destination, clock)
        stored = await fhir_store.read(conn, "Task", row.task_id) if row.task_id else None
        task = stored.body if stored and (stored.published or whole) else None
        parts.append(
            DestinationPart(
                destination=row.destination,
                delivery_id=row.id,
                delivery_status=row.delivery_status,
                bundle=bundle,
                why=_why(row.routing, row.destination),
                task=task,
                task_version=stored.version_id if stored and task else None,
                actions=allowed_actions(task),
            )
        )
    return parts


def _seen(rows: list[Any], parts: list[DestinationPart]) -> SeenReferral:
    first = rows[0]
    return SeenReferral(
        referral_id=first.referral_id,
        patient_id=first.patient_id,
        created_at=first.created_at,
        risk_level=first.risk_level,
        urgency=first.urgency,
        pathway=first.pathway,
        status=first.referral_status,
        explanation=orjson.loads(first.explanation),
        parts=parts,
    )


async def inbox(
    conn: AsyncConnection,
    config: GatewayConfig,
    role: ConsoleRole,
    destinations: tuple[str, ...],
    clock: Clock,
    limit: int = 200,
) -> list[SeenReferral]:
    """The referrals addressed to these destinations, newest first."""
    names, statuses = scope(role, destinations)
    query = select(*_COLUMNS).join(referrals, referrals.c.id == deliveries.c.referral_id)
    query = query.where(deliveries.c.status.in_(statuses))
    if names is not None:
        query = query.where(deliveries.c.destination.in_(names))
    query = query.order_by(referrals.c.created_at.desc(), deliveries.c.destination).limit(limit)
    grouped: dict[str, list[Any]] = {}
    for row in await conn.execute(query):
        grouped.setdefault(row.referral_id, []).append(row)
    whole = role is ConsoleRole.OPERATOR
    return [
        _seen(rows, await _parts(conn, rows, config, clock, whole)) for rows in grouped.values()
    ]


async def one_referral(
    conn: AsyncConnection,
    config: GatewayConfig,
    role: ConsoleRole,
    destinations: tuple[str, ...],
    referral_id: str,
    clock: Clock,
) -> SeenReferral | None:
    names, statuses = scope(role, destinations)
    query = (
        select(*_COLUMNS)
        .join(referrals, referrals.c.id == deliveries.c.referral_id)
        .where(deliveries.c.referral_id == referral_id, deliveries.c.status.in_(statuses))
        .order_by(deliveries.c.lane, deliveries.c.destination)
    )
    if names is not None:
        query = query.where(deliveries.c.destination.in_(names))
    rows = list(await conn.execute(query))
    if not rows:
        return None
    whole = role is ConsoleRole.OPERATOR
    return _seen(rows, await _parts(conn, rows, config, clock, whole))
