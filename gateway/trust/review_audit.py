"""The AuditEvent of a clinician's review: IHE BALP ``Create`` (audit-event-type#rest,
restful-interaction#create, action C) of the clinician's RiskAssessment, with the
client and the human reviewer as agents and the patient and referral as entities.

https://profiles.ihe.net/ITI/BALP/StructureDefinition-IHE.BasicAudit.Create.html
"""

from __future__ import annotations

from typing import Any

from gateway.audit import balp
from gateway.audit.balp_kinds import SECURITY_ROLE

EVENT_TYPE = "review-recorded"


def review_recorded(
    *,
    recorded: str,
    gateway: balp.Party,
    client: balp.Party,
    reviewer: str,
    patient: dict[str, Any],
    referral: dict[str, Any],
    risk_assessment: str,
) -> dict[str, Any]:
    """A clinician put their own risk level on record (the note is free text: not audited)."""

    def agent(system: str, code: str, display: str, who: dict[str, Any]) -> dict[str, Any]:
        kind = {"system": system, "code": code, "display": display}
        return {"type": {"coding": [kind]}, "who": who, "requestor": True}

    return {
        "resourceType": "AuditEvent",
        "type": {"system": balp.AUDIT_EVENT_TYPE, "code": "rest", "display": "Restful Operation"},
        "subtype": [{"system": balp.RESTFUL_INTERACTION, "code": "create", "display": "create"}],
        "action": "C",
        "recorded": recorded,
        "outcome": balp.SUCCESS,
        "agent": [
            agent(balp.DCM, "110150", "Application", client.who),
            agent(SECURITY_ROLE, "humanuser", "human user", {"display": reviewer}),
        ],
        "source": {
            "observer": gateway.who,
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
        "entity": [
            balp.patient_entity(patient),
            balp.data_entity(referral),
            balp.data_entity({"reference": risk_assessment}),
        ],
    }
