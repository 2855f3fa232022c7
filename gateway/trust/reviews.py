"""A clinician's own judgement of the risk (CONTRACT.md v1.1, ``POST /referrals/{id}/review``).

Who may review: an operator; a client in the ``clients`` of one of the referral's
destinations (for a crisis destination also its ``client_id``); a console user who
may act for one of them. The submitting app may not (403); anyone else is told the
referral does not exist (404). A reviewer's later review replaces their earlier one.
Stored as FHIR (:mod:`mappings.review`), audited (:mod:`gateway.trust.review_audit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit.recorder import append_entry, client_party, patient_ref
from gateway.config import GatewayConfig
from gateway.context import fhir_instant
from gateway.errors import Forbidden, NotFound
from gateway.logging import get_logger
from gateway.services import Services
from gateway.store import fhir_store
from gateway.store.tables import deliveries, referrals
from gateway.store.tables_trust import reviews
from gateway.trust.cards import referral_model
from gateway.trust.figures import triage_direction
from gateway.trust.review_audit import EVENT_TYPE, review_recorded
from mappings.ids import resource_uuid
from mappings.review import Review, clinician_risk_assessment, review_provenance

log = get_logger("gateway.trust")


@dataclass(frozen=True)
class Reviewer:
    """Who reviews: an API client (``key`` ``client:<id>``, ``client:<id>/<by>`` for a person
    it names) or a console user (``user:<name>``)."""

    key: str
    display: str
    client_id: str | None = None
    is_operator: bool = False
    destinations: frozenset[str] = field(default_factory=frozenset)
    """For a console user: the destinations they act for (an operator: all)."""

    @classmethod
    def client(cls, client_id: str, *, is_operator: bool, by: str | None = None) -> Reviewer:
        """A client, or a named person reviewing through it (each their own reviewer)."""
        key = f"client:{client_id}" + (f"/{by}" if by else "")
        return cls(key[:250], by or client_id, client_id, is_operator)

    @classmethod
    def console_user(
        cls, username: str, *, is_operator: bool, destinations: frozenset[str] = frozenset()
    ) -> Reviewer:
        return cls(f"user:{username}", username, None, is_operator, destinations)


def review_view(row: Any) -> dict[str, Any]:
    return {
        "reviewer": row.reviewer_display,
        "client_id": row.client_id,
        "risk_level": row.risk_level,
        "ai_risk_level": row.ai_risk_level,
        "agreement": {"agree": "agreement", "under": "under-triage", "over": "over-triage"}[
            triage_direction(row.ai_risk_level, row.risk_level)
        ],
        "note": row.note,
        "reviewed_at": fhir_instant(row.reviewed_at),
        "links": {
            "RiskAssessment": f"/fhir/RiskAssessment/{row.risk_assessment_id}",
            "Provenance": f"/fhir/Provenance/{row.provenance_id}",
        },
    }


async def referral_reviews(conn: AsyncConnection, referral_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(reviews).where(reviews.c.referral_id == referral_id).order_by(reviews.c.reviewed_at)
    )
    return [review_view(row) for row in rows]


def _acting_for(config: GatewayConfig, destinations: list[str], reviewer: Reviewer) -> list[str]:
    """The referral's destinations ``reviewer`` acts for."""
    if reviewer.client_id is None:
        return [d for d in destinations if d in reviewer.destinations]
    mine = []
    for name in destinations:
        try:
            destination = config.destination(name)
        except KeyError:
            continue
        crisis_client = getattr(destination, "client_id", None)
        if reviewer.client_id in destination.clients or reviewer.client_id == crisis_client:
            mine.append(name)
    return mine


async def record_review(
    services: Services,
    referral_id: str,
    reviewer: Reviewer,
    risk_level: str,
    note: str | None = None,
) -> dict[str, Any]:
    """Put ``reviewer``'s risk level on record for the referral; the review as shown."""
    now = services.clock()
    async with services.engine.begin() as conn:
        referral = (
            await conn.execute(select(referrals).where(referrals.c.id == referral_id))
        ).first()
        if referral is None:
            raise NotFound(f"No referral {referral_id} for this client.")
        destinations = sorted(
            {
                row.destination
                for row in await conn.execute(
                    select(deliveries.c.destination).where(deliveries.c.referral_id == referral_id)
                )
            }
        )
        acting_for = _acting_for(services.config, destinations, reviewer)
        if not acting_for and not reviewer.is_operator:
            if reviewer.client_id is not None and reviewer.client_id == referral.client_id:
                raise Forbidden(
                    "The app that submitted a referral may not review its own model's risk "
                    "level: a recipient, the crisis service or an operator may."
                )
            raise NotFound(f"No referral {referral_id} for this client.")
        ids = (
            resource_uuid(referral_id, f"review/{reviewer.key}/risk-assessment"),
            resource_uuid(referral_id, f"review/{reviewer.key}/provenance"),
        )
        review = Review(
            risk_assessment_id=ids[0],
            provenance_id=ids[1],
            patient_ref=f"Patient/{referral.patient_id}",
            ai_risk_assessment_ref="RiskAssessment/"
            + resource_uuid(referral_id, "risk-assessment"),
            risk_level=risk_level,
            reviewer=reviewer.display,
            on_behalf_of=f"Organization/{acting_for[0]}" if acting_for else None,
            recorded=fhir_instant(now),
            note=note,
        )
        for resource in (clinician_risk_assessment(review), review_provenance(review)):
            await _put(conn, resource, referral, now)
        earlier = (
            await conn.execute(
                select(reviews.c.first_reviewed_at).where(
                    reviews.c.referral_id == referral_id, reviews.c.reviewer == reviewer.key
                )
            )
        ).first()
        model_name, model_version = referral_model(orjson.loads(referral.explanation))
        values = {
            "model_name": model_name,
            "model_version": model_version,
            "reviewer_display": reviewer.display,
            "client_id": reviewer.client_id,
            "risk_level": risk_level,
            "ai_risk_level": referral.risk_level,
            "note": note,
            "risk_assessment_id": ids[0],
            "provenance_id": ids[1],
            "reviewed_at": now,
        }
        if earlier is None:
            await conn.execute(
                insert(reviews).values(
                    referral_id=referral_id, reviewer=reviewer.key, first_reviewed_at=now, **values
                )
            )
        else:
            await conn.execute(
                update(reviews)
                .where(reviews.c.referral_id == referral_id, reviews.c.reviewer == reviewer.key)
                .values(**values)
            )
        await append_entry(
            conn,
            review_recorded(
                recorded=fhir_instant(now),
                gateway=services.audit.gateway,
                client=client_party(reviewer.client_id or reviewer.key),
                reviewer=reviewer.display,
                patient=patient_ref(referral.patient_id),
                referral={
                    "identifier": {"system": "urn:referral-gateway:referral", "value": referral_id}
                },
                risk_assessment=f"RiskAssessment/{ids[0]}",
            ),
            event_type=EVENT_TYPE,
            now=now,
            referral_id=referral_id,
            patient_id=referral.patient_id,
        )
        row = (
            await conn.execute(
                select(reviews).where(
                    reviews.c.referral_id == referral_id, reviews.c.reviewer == reviewer.key
                )
            )
        ).one()
    log.info(
        "referral.reviewed",
        referral_id=referral_id,
        agreement=triage_direction(referral.risk_level, risk_level),
        replaced=earlier is not None,
    )
    return {"referral_id": referral_id, "replaced": earlier is not None, **review_view(row)}


async def _put(
    conn: AsyncConnection, resource: dict[str, Any], referral: Any, now: datetime
) -> None:
    stored = await fhir_store.read(conn, resource["resourceType"], resource["id"])
    if stored is None:
        await fhir_store.create_resource(
            conn,
            resource,
            now=now,
            referral_id=referral.id,
            patient_id=referral.patient_id,
            client_id=referral.client_id,
        )
    else:
        await fhir_store.update_resource(
            conn, resource, now=now, expected_version=stored.version_id
        )
