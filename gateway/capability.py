"""The CapabilityStatement: what the gateway's FHIR surface really does, and nothing more.

http://hl7.org/fhir/R4/capabilitystatement.html
"""

from __future__ import annotations

from typing import Any

from gateway.fhir_search import SERVED_TYPES, supported_params

_PARAM_TYPES = {
    "_id": "token",
    "identifier": "token",
    "patient": "reference",
    "status": "token",
    "_lastUpdated": "date",
    "owner": "reference",
    "_count": "number",
    "_offset": "number",
}
_WRITABLE = {"Task": ["update", "patch"], "Consent": ["create", "update"]}
_BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport"
_SUBSCRIPTION: dict[str, Any] = {
    "type": "Subscription",
    "profile": f"{_BACKPORT}/StructureDefinition/backport-subscription",
    "interaction": [{"code": "create"}, {"code": "read"}],
    "versioning": "no-version",
    "operation": [
        {
            "name": "status",
            "definition": f"{_BACKPORT}/OperationDefinition/backport-subscription-status",
        }
    ],
}
"""R4 Subscriptions Backport, topic-based, rest-hook (gateway.referral_loop.subscriptions)."""


def capability_statement(public_url: str, software_version: str, date: str) -> dict[str, Any]:
    resources = []
    for rtype in SERVED_TYPES:
        interactions = [{"code": "read"}, {"code": "search-type"}]
        interactions += [{"code": code} for code in _WRITABLE.get(rtype, [])]
        resources.append(
            {
                "type": rtype,
                "interaction": interactions,
                "versioning": "versioned-update" if rtype in _WRITABLE else "versioned",
                "readHistory": False,
                "updateCreate": False,
                "conditionalCreate": False,
                "searchParam": [
                    {"name": name, "type": _PARAM_TYPES[name]}
                    for name in supported_params(rtype)
                    if name not in {"_count", "_offset"}
                ],
            }
        )
    resources.append(_SUBSCRIPTION)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "kind": "instance",
        "software": {"name": "referral-gateway", "version": software_version},
        "implementation": {
            "description": "Mental-health referral gateway: FHIR surface and built-in inbox",
            "url": f"{public_url}/fhir",
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [{"url": "token", "valueUri": f"{public_url}/auth/token"}],
                        }
                    ],
                },
                "resource": resources,
            }
        ],
    }
