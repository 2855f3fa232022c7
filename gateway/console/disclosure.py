"""What a destination may see of a referral: the one disclosure decision point's answer.

The console asks ``gateway.disclosure`` exactly as delivery does just before it sends,
so a console page never shows a recipient more than its delivery carried.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.config import AnyDestination
from gateway.context import Clock
from gateway.disclosure import ReferralFacts, decide_disclosure
from gateway.store import fhir_store


async def disclosed_bundle(
    conn: AsyncConnection, referral: Any, destination: AnyDestination, clock: Clock
) -> dict[str, Any] | None:
    """The Bundle ``destination`` receives of ``referral`` (a ``referrals`` row), or None."""
    bundle = orjson.loads(referral.bundle)
    if not bundle.get("entry"):
        return None  # erased
    consent = await fhir_store.read(conn, "Consent", (referral.consent_id or "").split("/")[-1])
    disclosure = decide_disclosure(
        destination,
        consent.body if consent else None,
        ReferralFacts.of(bundle, referral.risk_level),
        clock(),
    )
    return disclosure.outbound(bundle) if disclosure.permit else None


def resources(bundle: dict[str, Any] | None, resource_type: str) -> list[dict[str, Any]]:
    if bundle is None:
        return []
    return [r for r in fhir_store.resources_of(bundle) if r.get("resourceType") == resource_type]
