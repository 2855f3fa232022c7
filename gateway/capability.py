"""The CapabilityStatement: what the gateway's FHIR surface really does, and nothing more.

http://hl7.org/fhir/R4/capabilitystatement.html. Built from the very tables the
search uses (``gateway.fhir_search``): the search parameters, includes and sort
keys listed are exactly those applied. ``search-type`` is served by GET and by POST
``_search``; reads answer ``If-None-Match`` (``conditionalRead: not-match``).
"""

from __future__ import annotations

from typing import Any

from gateway.fhir_search import INCLUDES, SERVED_TYPES, SORTS, search_params

WRITES = {"Task": ("update", "patch"), "Consent": ("create", "update")}
"""Interactions beyond read and search-type (gateway.api.tasks, gateway.api.consents)."""
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
_SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
RESULT_PARAMS_DOC = (
    "Every type also takes _count (at most 200), _summary=count, _sort "
    f"({', '.join(SORTS)}, '-' for descending) and _format=json; paging links use _offset. "
    "With Prefer: handling=strict an unsupported parameter is a 400, otherwise it is ignored "
    "and left out of the Bundle's self link. JSON only: other formats are a 406."
)


def _resource(rtype: str) -> dict[str, Any]:
    writes = WRITES.get(rtype, ())
    entry: dict[str, Any] = {
        "type": rtype,
        "interaction": [{"code": code} for code in ("read", "search-type", *writes)],
        "versioning": "versioned-update" if "update" in writes else "versioned",
        "readHistory": False,
        "updateCreate": False,
        "conditionalCreate": False,
        "conditionalRead": "not-match",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
    }
    if rtype in INCLUDES:
        entry["searchInclude"] = list(INCLUDES[rtype])
    entry["searchParam"] = [
        {"name": p.name, "type": p.type, "documentation": p.documentation}
        for p in search_params(rtype)
    ]
    return entry


def capability_statement(public_url: str, software_version: str, date: str) -> dict[str, Any]:
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
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": RESULT_PARAMS_DOC,
                "security": {
                    "service": [
                        {"coding": [{"system": _SECURITY_SERVICE, "code": "SMART-on-FHIR"}]}
                    ],
                    "description": "SMART Backend Services (client_credentials, private_key_jwt); "
                    f"discovery at {public_url}/fhir/.well-known/smart-configuration",
                    "extension": [
                        {
                            "url": _OAUTH_URIS,
                            "extension": [{"url": "token", "valueUri": f"{public_url}/auth/token"}],
                        }
                    ],
                },
                "resource": [*(_resource(t) for t in SERVED_TYPES), _SUBSCRIPTION],
            }
        ],
    }
