"""A minimised transaction Bundle like the worker hands to connectors."""

from __future__ import annotations

from typing import Any

ANSWER_CANARY = "CANARY-ANSWER-should-never-leave"


def referral_bundle(*, postal_code: str | None = "97201") -> dict[str, Any]:
    home = {"use": "home", "city": "Portland", "postalCode": postal_code}
    address = [home] if postal_code else []
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": "urn:uuid:patient-1",
            "resource": {
                "resourceType": "Patient",
                "name": [{"given": ["Alex"], "family": "Rivera"}],
                "telecom": [
                    {"system": "phone", "value": "+1-503-555-0100", "use": "mobile"},
                    {"system": "email", "value": "alex@example.org"},
                    {"system": "phone"},
                ],
                "communication": [
                    {"language": {"coding": [{"code": "en"}]}},
                    {"language": {"coding": [{"code": "es"}]}, "preferred": True},
                ],
                "birthDate": "1990-01-01",
                "address": address,
            },
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "fullUrl": "urn:uuid:qr-1",
            "resource": {
                "resourceType": "QuestionnaireResponse",
                "status": "completed",
                "item": [{"linkId": "9", "answer": [{"valueString": ANSWER_CANARY}]}],
            },
            "request": {"method": "POST", "url": "QuestionnaireResponse"},
        },
        {
            "fullUrl": "urn:uuid:risk-1",
            "resource": {
                "resourceType": "RiskAssessment",
                "status": "final",
                "prediction": [
                    {
                        "qualitativeRisk": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/risk-probability",
                                    "code": "high",
                                }
                            ]
                        },
                        "rationale": "Reports a plan and access to means.",
                    }
                ],
            },
            "request": {"method": "POST", "url": "RiskAssessment"},
        },
        {
            "fullUrl": "urn:uuid:sr-1",
            "resource": {
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "order",
                "priority": "stat",
                "subject": {"reference": "urn:uuid:patient-1"},
            },
            "request": {"method": "POST", "url": "ServiceRequest"},
        },
        {
            "fullUrl": "urn:uuid:task-1",
            "resource": {
                "resourceType": "Task",
                "status": "requested",
                "intent": "order",
                "focus": {"reference": "urn:uuid:sr-1"},
            },
            "request": {"method": "POST", "url": "Task"},
        },
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
