"""What the EHR's consent category may see of a referral: decide, then minimise.

The one place the CDS service asks consent (the same engine and minimisation profiles
delivery uses: ``consent.engine.decide`` then ``consent.minimise.minimise`` for the
``ehr`` category). When the gateway's single disclosure-decision module lands, this
function is what switches to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent.engine import Decision, DecisionRequest, Recipient, decide
from consent.minimise import minimise
from gateway.intake.service import data_labels
from gateway.store import fhir_store

EHR_CATEGORY = "ehr"
TREATMENT = "TREAT"


@dataclass(frozen=True)
class EhrView:
    decision: Decision
    bundle: dict[str, Any] | None
    """The referral's Bundle minimised for the EHR; ``None`` when consent denies it."""


def ehr_view(
    bundle: dict[str, Any],
    consent: dict[str, Any] | None,
    *,
    recipient: str,
    risk_level: str,
    now: datetime,
) -> EhrView:
    decision = decide(
        [consent] if consent else [],
        DecisionRequest(
            recipient=Recipient(category=EHR_CATEGORY, name=recipient),
            purpose=TREATMENT,
            data_labels=data_labels(bundle),
            data_classes=frozenset(r["resourceType"] for r in fhir_store.resources_of(bundle)),
            risk_level=risk_level,
        ),
        now,
    )
    if not decision.permit:
        return EhrView(decision, None)
    return EhrView(decision, minimise(bundle, EHR_CATEGORY, list(decision.obligations)))
