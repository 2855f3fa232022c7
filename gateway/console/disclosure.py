"""What a destination may see of a referral: the same decision and minimisation as delivery.

The consent decision (``consent.engine.decide``) and minimisation
(``consent.minimise.minimise``) are called exactly as the delivery worker calls them
before it sends (docs/consent.md), so a console page never shows a recipient more than
its delivery carried. This is the console's one call of them.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.engine import DecisionRequest, Recipient, decide
from consent.minimise import minimise
from consent.vocab import destination_category
from gateway.config import AnyDestination
from gateway.context import Clock
from gateway.intake.service import data_labels
from gateway.store import fhir_store


async def disclosed_bundle(
    conn: AsyncConnection, referral: Any, destination: AnyDestination, clock: Clock
) -> dict[str, Any] | None:
    """The Bundle ``destination`` receives of ``referral`` (a ``referrals`` row), or None."""
    bundle = orjson.loads(referral.bundle)
    if not bundle.get("entry"):
        return None  # erased
    consent = await fhir_store.read(conn, "Consent", (referral.consent_id or "").split("/")[-1])
    category = destination_category(destination.type, destination.consent_category)
    verdict = decide(
        [consent.body] if consent else [],
        DecisionRequest(
            recipient=Recipient(category=category, name=destination.name),
            purpose="TREAT",
            data_labels=data_labels(bundle),
            data_classes=frozenset(r["resourceType"] for r in fhir_store.resources_of(bundle)),
            risk_level=referral.risk_level,
        ),
        clock(),
    )
    if not verdict.permit:
        return None
    return minimise(bundle, category, list(verdict.obligations))


def resources(bundle: dict[str, Any] | None, resource_type: str) -> list[dict[str, Any]]:
    if bundle is None:
        return []
    return [r for r in fhir_store.resources_of(bundle) if r.get("resourceType") == resource_type]
