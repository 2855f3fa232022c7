"""The one disclosure decision point: may this referral go to this destination, and as what.

Like the access check of Google's FHIR Info Gateway (check, mutate, forward, audit),
one call makes the whole decision for one destination:

1. the consent request: the destination's recipient category and name, purpose
   ``TREAT``, the referral's security labels and resource types, its risk level;
2. the decision under the person's consent (``consent.engine.decide``: FHIR R4 Consent
   provisions, 42 CFR Part 2 labels, the 42 CFR 2.51 emergency path under ``ETREAT``);
3. the obligations applied to what is sent (``consent.minimise``: the category's
   minimisation profile, withheld classes and labels, added labels, the 42 CFR 2.32
   redisclosure notice);
4. what the audit records: the decision (BALP AuthZconsent, ``consent-decision``) and,
   once sent, the disclosure (``disclosure``, or ``emergency-disclosure`` under ETREAT).

Intake calls :func:`decide_disclosure` to choose routes; delivery calls it again just
before sending, so a consent revoked in between stops the send. Nothing else builds a
``DecisionRequest``. Whatever shows a recipient part of a referral (the console, the
recipient's view of ``/referrals/{id}``, CDS cards) shows :func:`minimised_view`, the
same minimisation delivery applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent.engine import Decision, DecisionRequest, Recipient, decide
from consent.minimise import minimise
from consent.obligations import Obligation
from gateway.config import AnyDestination
from gateway.destinations.registry import consent_category

TREATMENT = "TREAT"
"""The purpose of every referral disclosure (v3-ActReason ``TREAT``)."""

CONSENT_DECISION_EVENT = "consent-decision"
DISCLOSURE_EVENT = "disclosure"
EMERGENCY_DISCLOSURE_EVENT = "emergency-disclosure"


@dataclass(frozen=True)
class ReferralFacts:
    """What the consent decision reads of a referral."""

    labels: frozenset[str]
    """Security label codes on any of its resources (``PSY``, ``R``, ``ETH`` ...)."""
    classes: frozenset[str]
    """The resource types it holds."""
    risk_level: str | None

    @classmethod
    def of(cls, bundle: dict[str, Any], risk_level: str | None) -> ReferralFacts:
        resources = [entry["resource"] for entry in bundle.get("entry", [])]
        labels = {
            label.get("code", "")
            for resource in resources
            for label in (resource.get("meta") or {}).get("security", [])
        }
        return cls(
            labels=frozenset(labels - {""}),
            classes=frozenset(r["resourceType"] for r in resources),
            risk_level=risk_level,
        )


@dataclass(frozen=True)
class AuditFacts:
    """What the audit records of a disclosure decision, and under which event kinds."""

    decision_kind: str
    """The event kind of the decision itself (recorded for permit and deny alike)."""
    sent_kind: str
    """The event kind recorded once the referral has been sent."""
    recipient: str
    permit: bool
    reason: str
    purpose: str
    consent_id: str | None


@dataclass(frozen=True)
class Disclosure:
    """The decision for one destination, with what it obliges."""

    destination: str
    category: str
    """The recipient category consent and minimisation know it by (``ehr``, ``crisis`` ...)."""
    decision: Decision

    @property
    def permit(self) -> bool:
        return self.decision.permit

    @property
    def audit(self) -> AuditFacts:
        return AuditFacts(
            decision_kind=CONSENT_DECISION_EVENT,
            sent_kind=EMERGENCY_DISCLOSURE_EVENT if self.decision.emergency else DISCLOSURE_EVENT,
            recipient=self.destination,
            permit=self.decision.permit,
            reason=self.decision.reason,
            purpose=self.decision.purpose,
            consent_id=self.decision.consent_id,
        )

    def outbound(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """The Bundle this destination receives; refused when the decision is a deny."""
        if not self.decision.permit:
            raise ValueError(f"nothing may be disclosed to {self.destination!r}")
        return minimised_view(bundle, self.category, self.decision.obligations)


def recipient_category(destination: AnyDestination) -> str:
    """The recipient category of a configured destination."""
    return consent_category(destination)


def decide_disclosure(
    destination: AnyDestination,
    consent: dict[str, Any] | None,
    facts: ReferralFacts,
    now: datetime,
) -> Disclosure:
    """Decide whether the referral described by ``facts`` may go to ``destination`` now.

    ``consent`` is the person's Consent resource (``None``: none on file, which denies
    unless the emergency path applies).
    """
    return decide_for_recipient(
        recipient_category(destination), destination.name, consent, facts, now
    )


def decide_for_recipient(
    category: str,
    name: str,
    consent: dict[str, Any] | None,
    facts: ReferralFacts,
    now: datetime,
) -> Disclosure:
    """The same decision for a recipient that is not a configured destination (an EHR
    asking through CDS Hooks: category ``ehr``, named by its issuer)."""
    request = DecisionRequest(
        recipient=Recipient(category=category, name=name),
        purpose=TREATMENT,
        data_labels=facts.labels,
        data_classes=facts.classes,
        risk_level=facts.risk_level,
    )
    verdict = decide([consent] if consent is not None else [], request, now)
    return Disclosure(destination=name, category=category, decision=verdict)


def minimised_view(
    bundle: dict[str, Any], category: str, obligations: Sequence[Obligation] = ()
) -> dict[str, Any]:
    """What a recipient of consent category ``category`` may see of a referral's Bundle.

    The category's minimisation profile (``consent/profiles.yaml``) with a decision's
    ``obligations`` applied: a new Bundle, ``bundle`` is not changed. Raises
    ``ValueError`` for a category without a profile.
    """
    return minimise(bundle, category, list(obligations))
