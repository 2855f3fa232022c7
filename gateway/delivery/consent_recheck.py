"""Consent is decided again just before every delivery, so a revocation stops it."""

from __future__ import annotations

from typing import Any

from consent.engine import Decision, DecisionRequest, Recipient, decide
from consent.vocab import destination_category
from gateway.config import AnyDestination
from gateway.context import Clock
from gateway.delivery.claim import Claim
from gateway.intake.service import data_labels
from gateway.store import fhir_store


def recheck_consent(
    claim: Claim, destination: AnyDestination, consent: dict[str, Any] | None, clock: Clock
) -> Decision:
    """Consent is decided again just before every delivery (a revocation stops it)."""
    return decide(
        [consent] if consent else [],
        DecisionRequest(
            recipient=Recipient(
                category=destination_category(destination.type, destination.consent_category),
                name=destination.name,
            ),
            purpose="TREAT",
            data_labels=data_labels(claim.bundle),
            data_classes=frozenset(
                r["resourceType"] for r in fhir_store.resources_of(claim.bundle)
            ),
            risk_level=claim.risk_level,
        ),
        clock(),
    )
