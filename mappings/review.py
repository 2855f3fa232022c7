"""A clinician's review of the AI's risk level, as FHIR R4, after the HL7 AI Transparency
on FHIR IG (https://build.fhir.org/ig/HL7/aitransparency-ig/): the clinician's own
RiskAssessment (§12.8) whose ``basis`` is the AI's RiskAssessment, and a Provenance
(§6.3) whose agent of type ``verifier`` is the human who judged it.

Pure: ids, names and instants come in as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.codes import code_tables, coding, risk_coding


@dataclass(frozen=True)
class Review:
    risk_assessment_id: str
    provenance_id: str
    patient_ref: str
    ai_risk_assessment_ref: str
    risk_level: str
    reviewer: str
    """The person (or, for a client that names no one, the client) who judged the risk."""
    on_behalf_of: str | None
    """``Organization/<destination>`` the reviewer acts for, when known."""
    recorded: str
    note: str | None = None


def clinician_risk_assessment(review: Review) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": review.risk_assessment_id,
        "status": "final",
        "method": {"text": "Clinician's judgement"},
        "code": {"text": "Mental-health triage risk level, reviewed by a clinician"},
        "subject": {"reference": review.patient_ref},
        "occurrenceDateTime": review.recorded,
        "performer": {"display": review.reviewer},
        "basis": [{"reference": review.ai_risk_assessment_ref}],
        "prediction": [
            {
                "qualitativeRisk": {
                    "coding": [risk_coding(review.risk_level)],
                    "text": review.risk_level,
                }
            }
        ],
    }
    if review.note:
        resource["note"] = [{"text": review.note}]
    return resource


def review_provenance(review: Review) -> dict[str, Any]:
    tables = code_tables()
    verifier: dict[str, Any] = {
        "type": {"coding": [coding("provenance_participant_type", tables["provenance_verifier"])]},
        "who": {"display": review.reviewer},
    }
    if review.on_behalf_of:
        verifier["onBehalfOf"] = {"reference": review.on_behalf_of}
    return {
        "resourceType": "Provenance",
        "id": review.provenance_id,
        "target": [{"reference": f"RiskAssessment/{review.risk_assessment_id}"}],
        "recorded": review.recorded,
        "activity": {
            "coding": [coding("data_operation", tables["provenance_activity"])],
            "text": "A clinician reviewed the risk level a triage model suggested",
        },
        "agent": [verifier],
        "entity": [
            {"role": "source", "what": {"reference": review.ai_risk_assessment_ref}},
        ],
    }
