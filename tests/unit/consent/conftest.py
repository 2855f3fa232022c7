"""A representative triage transaction Bundle, as the mapping produces it."""

from __future__ import annotations

from typing import Any

import pytest

PSY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}
R = {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
ETH = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "ETH"}
PART2 = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "42CFRPart2"}

PATIENT = "urn:uuid:00000000-0000-4000-8000-000000000001"
ORG = "urn:uuid:00000000-0000-4000-8000-000000000002"
DEVICE = "urn:uuid:00000000-0000-4000-8000-000000000003"
QR = "urn:uuid:00000000-0000-4000-8000-000000000004"
PHQ9 = "urn:uuid:00000000-0000-4000-8000-000000000005"
AUDIT_C = "urn:uuid:00000000-0000-4000-8000-000000000006"
RISK = "urn:uuid:00000000-0000-4000-8000-000000000007"
SR = "urn:uuid:00000000-0000-4000-8000-000000000008"
TASK = "urn:uuid:00000000-0000-4000-8000-000000000009"
PROV = "urn:uuid:00000000-0000-4000-8000-000000000010"
CONSENT = "urn:uuid:00000000-0000-4000-8000-000000000011"


def _entry(
    full_url: str, resource: dict[str, Any], if_none_exist: str | None = None
) -> dict[str, Any]:
    request: dict[str, Any] = {"method": "POST", "url": resource["resourceType"]}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return {"fullUrl": full_url, "resource": resource, "request": request}


def build_bundle() -> dict[str, Any]:
    labels = {"security": [PSY, R]}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry(PATIENT, {
                "resourceType": "Patient",
                "meta": labels,
                "identifier": [{"system": "https://app.example.org/patients", "value": "p-123"}],
                "name": [{"given": ["Ana"], "family": "Ruiz"}],
                "telecom": [{"system": "phone", "value": "+1-555-0100"}],
                "gender": "female",
                "birthDate": "1990-04-02",
                "address": [{"postalCode": "94110", "state": "CA", "country": "US",
                             "line": ["1 Mission St"]}],
                "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47",
                                                             "code": "es"}]}}],
            }, "identifier=https://app.example.org/patients|p-123"),
            _entry(ORG, {
                "resourceType": "Organization",
                "identifier": [{"system": "urn:referral-gateway:organization", "value": "gw"}],
                "name": "Referral gateway",
                "telecom": [{"system": "url", "value": "https://gateway.example.org"}],
            }),
            _entry(DEVICE, {
                "resourceType": "Device",
                "deviceName": [{"name": "example-triage", "type": "model-name"}],
                "version": [{"value": "2.3.1"}],
            }),
            _entry(QR, {
                "resourceType": "QuestionnaireResponse",
                "meta": labels,
                "status": "completed",
                "questionnaire": "http://loinc.org/q/44249-1",
                "subject": {"reference": PATIENT},
                "authored": "2026-11-27T10:01:00Z",
                "item": [{"linkId": "44250-9", "answer": [{"valueCoding": {
                    "system": "http://loinc.org", "code": "LA6569-3"}}]}],
            }),
            _entry(PHQ9, {
                "resourceType": "Observation",
                "meta": labels,
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
                "subject": {"reference": PATIENT},
                "valueInteger": 11,
                "derivedFrom": [{"reference": QR}],
            }),
            _entry(AUDIT_C, {
                "resourceType": "Observation",
                "meta": {"security": [PSY, R, ETH, PART2]},
                "status": "final",
                "code": {"text": "Alcohol use screening"},
                "subject": {"reference": PATIENT},
                "valueInteger": 7,
            }),
            _entry(RISK, {
                "resourceType": "RiskAssessment",
                "meta": labels,
                "status": "final",
                "subject": {"reference": PATIENT},
                "occurrenceDateTime": "2026-11-27T10:04:00Z",
                "method": {"text": "example-triage 2.3.1"},
                "performer": {"reference": DEVICE},
                "basis": [{"reference": PHQ9}, {"reference": AUDIT_C}, {"reference": QR}],
                "prediction": [{
                    "outcome": {"text": "Self-harm"},
                    "qualitativeRisk": {"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/risk-probability",
                        "code": "moderate"}]},
                    "probabilityDecimal": 0.82,
                    "rationale": "Plain-language reason the app gives the person.",
                }],
                "note": [{"text": "signals: phq9-item9-positive"}],
            }),
            _entry(SR, {
                "resourceType": "ServiceRequest",
                "meta": labels,
                "identifier": [{"system": "urn:referral-gateway:triage", "value": "t-1"}],
                "status": "active",
                "intent": "order",
                "category": [{"coding": [{"system": "http://snomed.info/sct",
                                          "code": "3457005"}]}],
                "priority": "urgent",
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "306206005"}]},
                "subject": {"reference": PATIENT},
                "authoredOn": "2026-11-27T10:04:00Z",
                "requester": {"reference": ORG},
                "reasonCode": [{"coding": [{"system": "http://snomed.info/sct",
                                            "code": "6471006"}]}],
                "reasonReference": [{"reference": RISK}, {"reference": PHQ9}],
                "supportingInfo": [{"reference": QR}, {"reference": PHQ9}],
                "note": [{"text": "optional free text from the person"}],
            }),
            _entry(TASK, {
                "resourceType": "Task",
                "status": "requested",
                "intent": "order",
                "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code",
                                     "code": "fulfill"}]},
                "focus": {"reference": SR},
                "for": {"reference": PATIENT},
                "authoredOn": "2026-11-27T10:04:00Z",
                "requester": {"reference": ORG},
                "input": [{"type": {"text": "risk"}, "valueReference": {"reference": RISK}}],
            }),
            _entry(PROV, {
                "resourceType": "Provenance",
                "target": [{"reference": RISK}, {"reference": SR}],
                "recorded": "2026-11-27T10:04:00Z",
                "agent": [{"who": {"reference": DEVICE}}],
            }),
            _entry(CONSENT, {
                "resourceType": "Consent",
                "status": "active",
                "scope": {"coding": [{"code": "patient-privacy"}]},
                "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
                "patient": {"reference": PATIENT},
                "policyRule": {"coding": [{"code": "OPTIN"}]},
                "provision": {"type": "deny"},
            }),
        ],
    }


@pytest.fixture
def triage_bundle() -> dict[str, Any]:
    return build_bundle()
