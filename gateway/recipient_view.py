"""``GET /referrals/{id}`` for a recipient: what its consent category may see, never more
(CONTRACT.md v1.1, "Recipients and the notifications they get").

A recipient is a client acting for a destination (``destinations[].clients``, a crisis
destination's ``client_id``, or ``gateway destinations add-client``) that this referral
was delivered to. It sees the referral's status, its own delivery and Task, and the
resources of the Bundle after the same consent decision and minimisation as delivery
(``gateway.disclosure``): for a community organisation the person's name, phone and
language and the service asked for, with no rationale, no scores and no free-text note.
Before its delivery lands, or once consent no longer permits it, it sees nothing of the
person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.config import AnyDestination, GatewayConfig
from gateway.context import fhir_instant
from gateway.destinations.registry import consent_category
from gateway.disclosure import ReferralFacts, decide_disclosure
from gateway.store import fhir_store
from gateway.store.tables import deliveries, referrals

VISIBLE_STATUSES = frozenset({"delivered"})


def recipient_links(public_url: str, referral_id: str, task_id: str | None) -> dict[str, str]:
    """The links a notification carries; the recipient follows them with its own token."""
    links = {"referral": f"{public_url}/referrals/{referral_id}"}
    if task_id:
        links["task"] = f"{public_url}/fhir/Task/{task_id}"
    return links


def acts_for(config: GatewayConfig, client_id: str) -> list[AnyDestination]:
    return [d for d in config.destinations if client_id in d.clients]


def disclosed(
    bundle: dict[str, Any],
    destination: AnyDestination,
    consent: dict[str, Any] | None,
    *,
    risk_level: str,
    now: datetime,
) -> dict[str, Any] | None:
    """What ``destination`` may see of ``bundle`` now (the one disclosure decision point,
    as delivery asks it), or ``None`` when consent no longer permits it anything."""
    disclosure = decide_disclosure(destination, consent, ReferralFacts.of(bundle, risk_level), now)
    return disclosure.outbound(bundle) if disclosure.permit else None


def _person(resources: list[dict[str, Any]]) -> dict[str, Any]:
    patient = next((r for r in resources if r["resourceType"] == "Patient"), {})
    names = patient.get("name") or [{}]
    language = next(
        (
            coding.get("code")
            for c in patient.get("communication", [])
            for coding in (c.get("language") or {}).get("coding", [])
        ),
        None,
    )
    person = {
        "name": " ".join([*names[0].get("given", []), names[0].get("family", "")]).strip(),
        "telecom": [
            {k: p[k] for k in ("system", "value") if k in p} for p in patient.get("telecom", [])
        ],
        "preferred_language": language,
    }
    return {k: v for k, v in person.items() if v}


def _service_requested(resources: list[dict[str, Any]]) -> str | None:
    request = next((r for r in resources if r["resourceType"] == "ServiceRequest"), {})
    return (request.get("code") or {}).get("text")


def _sent_to(receipt: dict[str, Any] | None) -> dict[str, str] | None:
    """The HSDS service and organisation a community delivery went to."""
    ids = (receipt or {}).get("remote_ids") or {}
    keys = {
        "service_id": "hsds:service",
        "service_name": "hsds:service_name",
        "organization_id": "hsds:organization",
        "organization_name": "hsds:organization_name",
    }
    found = {name: str(ids[key]) for name, key in keys.items() if ids.get(key)}
    return found or None


async def load_recipient_view(
    conn: AsyncConnection,
    config: GatewayConfig,
    referral_id: str,
    client_id: str,
    *,
    now: datetime,
) -> dict[str, Any] | None:
    """The recipient's view, or ``None`` when ``client_id`` received no delivery of it."""
    destinations = {d.name: d for d in acts_for(config, client_id)}
    if not destinations:
        return None
    rows = (
        await conn.execute(
            select(deliveries)
            .where(
                deliveries.c.referral_id == referral_id,
                deliveries.c.destination.in_(list(destinations)),
            )
            .order_by(deliveries.c.lane, deliveries.c.destination)
        )
    ).all()
    landed = [d for d in rows if d.status in VISIBLE_STATUSES]
    if not landed:
        return None
    referral = (await conn.execute(select(referrals).where(referrals.c.id == referral_id))).one()
    consent = await fhir_store.read(conn, "Consent", referral.consent_id or "")
    bundle = orjson.loads(referral.bundle)
    mine = landed[0]
    destination = destinations[mine.destination]
    shown = disclosed(
        bundle, destination, consent.body if consent else None,
        risk_level=referral.risk_level, now=now,
    )  # fmt: skip
    task = await fhir_store.read(conn, "Task", mine.task_id) if mine.task_id else None
    resources = [e["resource"] for e in (shown or {}).get("entry", [])]
    view: dict[str, Any] = {
        "referral_id": referral.id,
        "status": referral.status,
        "urgency": referral.urgency,
        "created_at": fhir_instant(referral.created_at),
        "recipient": {
            "destination": destination.name,
            "category": consent_category(destination),
        },
        "delivery": {
            "destination": mine.destination,
            "status": mine.status,
            "delivered_at": fhir_instant(mine.delivered_at) if mine.delivered_at else None,
            "sent_to": _sent_to(orjson.loads(mine.receipt) if mine.receipt else None),
            "task": {"reference": f"Task/{task.id}", "status": task.body.get("status")}
            if task
            else None,
        },
        "person": _person(resources),
        "service_requested": _service_requested(resources),
        "resources": resources,
        "links": {"self": f"/referrals/{referral_id}"},
    }
    if task:
        view["links"]["Task"] = f"/fhir/Task/{task.id}"
    if shown is None:
        view["withheld"] = "The person's consent no longer allows showing this referral."
    return view
