"""The Consent a submission goes under: a stored one it references, or one made from its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent.fhir_consent import consent_from_submission
from gateway.context import fhir_instant
from gateway.errors import InvalidInput, Issue
from gateway.intake.schema import ConsentReference, TriageSubmission
from mappings.ids import resource_uuid


@dataclass(frozen=True)
class ConsentInForce:
    resource: dict[str, Any]
    is_new: bool
    """True when made from the submission's inline consent (it is stored with the referral)."""


def referenced_consent_id(submission: TriageSubmission) -> str | None:
    consent = submission.consent
    if isinstance(consent, ConsentReference):
        return consent.consent_ref.split("/", 1)[1]
    return None


def consent_in_force(
    submission: TriageSubmission,
    canonical: dict[str, Any],
    *,
    stored: dict[str, dict[str, Any]],
    patient_ref: str,
    text_versions: list[str],
    referral_id: str,
    client_id: str,
    now: datetime,
) -> ConsentInForce:
    """The Consent in force; raises InvalidInput for a missing or someone else's consent."""
    consent = submission.consent
    if isinstance(consent, ConsentReference):
        found = stored.get(consent.consent_ref.split("/", 1)[1])
        if found is None:
            raise InvalidInput(
                "The referenced consent does not exist.",
                issues=[Issue("no such Consent", expression="consent.consent_ref")],
            )
        if not _same_person(found, patient_ref, submission):
            raise InvalidInput(
                "The referenced consent belongs to someone else.",
                issues=[Issue("not this patient's consent", expression="consent.consent_ref")],
            )
        return ConsentInForce(found, is_new=False)
    if text_versions and consent.accepted_text_version not in text_versions:
        raise InvalidInput(
            "The consent text version is not one this gateway uses.",
            issues=[Issue("unknown consent text", expression="consent.accepted_text_version")],
        )
    identifier = submission.patient.identifiers[0]
    resource = consent_from_submission(
        canonical["consent"],
        patient_ref=patient_ref,
        patient_identifier={"system": identifier.system, "value": identifier.value},
        recorded_at=fhir_instant(now),
        consent_uuid=resource_uuid(referral_id, "consent"),
        client_id=client_id,
    )
    return ConsentInForce(resource, is_new=True)


def _same_person(consent: dict[str, Any], patient_ref: str, submission: TriageSubmission) -> bool:
    patient = consent.get("patient") or {}
    if patient.get("reference") == patient_ref:
        return True
    ident = patient.get("identifier") or {}
    return any(
        ident.get("system") == i.system and ident.get("value") == i.value
        for i in submission.patient.identifiers
    )
