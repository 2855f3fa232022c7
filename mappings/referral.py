"""The referral around the assessments: who asked, what the model judged, what is asked for.

FHIR R4 resources: Organization (the submitting triage app), Device (the triage model,
name and version), RiskAssessment (§12.8: the model's level, confidence and rationale),
ServiceRequest (§12.15: the referral), Task shaped as the HL7 SDOH Clinical Care
"Task for referral management" (SDOHCC-TaskForReferralManagement: intent order, code
fulfill, focus the ServiceRequest; ``owner`` is left to delivery, per destination), and
Provenance (§6.3) for what the model produced, with the AI label on its output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.bundle_entries import reference, uuid_identifier
from mappings.codes import code_tables, coding, pathway, priority, risk_coding, system


@dataclass(frozen=True)
class ReferralIds:
    """The uuids of the resources a referral's other resources point at."""

    patient: str
    organization: str
    device: str
    risk_assessment: str
    service_request: str
    task: str
    provenance: str


def organization_resource(client_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": system("client_id"), "value": client_id}],
        "active": True,
        "name": client_id,
    }


def device_resource(model: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "identifier": [
            {"system": system("triage_model"), "value": f"{model['name']}@{model['version']}"}
        ],
        "status": "active",
        "deviceName": [{"name": model["name"], "type": "model-name"}],
        "type": {"text": "Mental-health triage model"},
        "version": [{"value": model["version"]}],
    }


def risk_assessment_resource(
    triage: dict[str, Any], ids: ReferralIds, basis: list[str]
) -> dict[str, Any]:
    risk = triage["risk"]
    model = triage["model"]
    prediction: dict[str, Any] = {
        "qualitativeRisk": {"coding": [risk_coding(risk["level"])], "text": risk["level"]},
    }
    if risk.get("confidence") is not None:
        prediction["probabilityDecimal"] = risk["confidence"]
    if risk.get("rationale"):
        prediction["rationale"] = risk["rationale"]
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "identifier": [uuid_identifier(ids.risk_assessment)],
        "status": "final",
        "method": {"text": f"{model['name']} {model['version']}"},
        "code": {"text": "Mental-health triage risk level"},
        "subject": reference(ids.patient),
        "occurrenceDateTime": triage["submitted_at"],
        "performer": reference(ids.device),
        "prediction": [prediction],
    }
    if basis:
        resource["basis"] = [reference(uuid) for uuid in basis]
    return resource


def service_request_resource(
    triage: dict[str, Any], ids: ReferralIds, observations: list[str], responses: list[str]
) -> dict[str, Any]:
    request = triage["request"]
    tables = code_tables()
    referral_code = pathway(request["pathway"])
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [uuid_identifier(ids.service_request)],
        "status": "active",
        "intent": "order",
        "category": [{"coding": [coding("snomed", tables["referral_category"])]}],
        "priority": priority(request["urgency"], triage["risk"]["level"]),
        "code": {"coding": [coding("snomed", referral_code)], "text": referral_code["text"]},
        "subject": reference(ids.patient),
        "authoredOn": triage["submitted_at"],
        "requester": reference(ids.organization),
        "reasonReference": [reference(uuid) for uuid in [*observations, ids.risk_assessment]],
    }
    if responses:
        resource["supportingInfo"] = [reference(uuid) for uuid in responses]
    if request.get("note"):
        resource["note"] = [{"text": request["note"]}]
    return resource


def task_resource(triage: dict[str, Any], ids: ReferralIds, received_at: str) -> dict[str, Any]:
    tables = code_tables()
    return {
        "resourceType": "Task",
        "meta": {"profile": [tables["task_profile"]]},
        "identifier": [uuid_identifier(ids.task)],
        "status": "requested",
        "intent": "order",
        "priority": priority(triage["request"]["urgency"], triage["risk"]["level"]),
        "code": {"coding": [coding("task_code", tables["task_fulfill"])]},
        "focus": reference(ids.service_request),
        "for": reference(ids.patient),
        "authoredOn": received_at,
        "requester": reference(ids.organization),
    }


def provenance_resource(
    triage: dict[str, Any],
    ids: ReferralIds,
    responses: list[str],
    received_at: str,
    *,
    model_card_url: str | None = None,
) -> dict[str, Any]:
    """Provenance of the model's output: the Device authored it for the app's Organization.

    R4 Provenance has no ``identifier`` element, so its Bundle entry is a plain create.
    A declared model's card is linked as a source entity identified by its URL (after
    the HL7 AI Transparency on FHIR IG, which links the model card from the Provenance).
    """
    tables = code_tables()
    author = {"coding": [coding("provenance_participant_type", tables["provenance_author"])]}
    entities = [{"role": "source", "what": reference(uuid)} for uuid in responses]
    if model_card_url is not None:
        model = triage["model"]
        entities.append(
            {
                "role": "source",
                "what": {
                    "identifier": {
                        "system": tables["uri_identifier_system"],
                        "value": model_card_url,
                    },
                    "display": f"Model card of {model['name']} {model['version']}",
                },
            }
        )
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [reference(ids.risk_assessment)],
        "occurredDateTime": triage["submitted_at"],
        "recorded": received_at,
        "activity": {
            "coding": [coding("data_operation", tables["provenance_activity"])],
            "text": "Risk level assessed by a triage model",
        },
        "agent": [
            {
                "type": author,
                "who": reference(ids.device),
                "onBehalfOf": reference(ids.organization),
            },
            {"type": author, "who": reference(ids.organization)},
        ],
        "entity": entities,
    }
    return provenance
