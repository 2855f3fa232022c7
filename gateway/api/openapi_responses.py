"""How routes describe their answers in the OpenAPI document (``responses=`` in decorators).

Every error is an OperationOutcome sent as ``application/fhir+json``
(``gateway.api.errors``); ``OUTCOME_SCHEMA`` is its schema, put under
``components.schemas.OperationOutcome`` by ``gateway.openapi_truth``.
"""

from __future__ import annotations

from typing import Any

from gateway.json import FHIR_JSON

OUTCOME_REF = "#/components/schemas/OperationOutcome"
OUTCOME_SCHEMA: dict[str, Any] = {
    "title": "OperationOutcome",
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"type": "string"},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
ERROR_DESCRIPTIONS = {
    400: "Malformed request (bad parameter value, not JSON, duplicate key)",
    401: "Missing, malformed or expired bearer token",
    403: "The token lacks the scope, or the caller may not do this",
    404: "Not found, or not the caller's to see",
    405: "Method not allowed",
    406: "Only application/fhir+json is served",
    409: "Conflict",
    412: "If-Match names a version that is no longer current",
    413: "Body too large",
    415: "Unsupported Content-Type or Content-Encoding",
    422: "A field is invalid; issue[].expression names it",
    428: "If-Match is required",
    429: "Too many requests",
    503: "Busy or shutting down; retry later",
}
RESOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}


def outcome(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or ERROR_DESCRIPTIONS.get(status, "Error"),
        "content": {FHIR_JSON: {"schema": {"$ref": OUTCOME_REF}}},
    }


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: outcome(status) for status in statuses}


def fhir_ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    content = {FHIR_JSON: {"schema": schema or RESOURCE_SCHEMA}}
    return {"description": description, "content": content}


NOT_MODIFIED = {
    "description": "Not modified: If-None-Match names the current version",
    "headers": {"ETag": {"schema": {"type": "string"}}},
}
