"""OpenAPI descriptions of the FHIR read and search routes (``gateway.api.fhir``)."""

from __future__ import annotations

from typing import Any

from gateway.api.openapi_responses import NOT_MODIFIED, errors, fhir_ok

_BUNDLE = {
    "type": "object",
    "required": ["resourceType", "type"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["searchset"]},
        "total": {"type": "integer"},
        "link": {"type": "array", "items": {"type": "object"}},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}
_ETAG_HEADERS = {
    "ETag": {"schema": {"type": "string"}, "description": 'W/"<versionId>"'},
    "Last-Modified": {"schema": {"type": "string"}, "description": "HTTP-date"},
}
METADATA_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: fhir_ok("The CapabilityStatement"),
    **errors(406, 503),
}
READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {**fhir_ok("The resource"), "headers": _ETAG_HEADERS},
    304: NOT_MODIFIED,
    **errors(401, 403, 404, 406, 503),
}
SEARCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: fhir_ok("A searchset Bundle", _BUNDLE),
    **errors(400, 401, 403, 404, 406, 503),
}
POST_SEARCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **SEARCH_RESPONSES,
    **errors(413, 415),
}
SEARCH_FORM: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "The same parameters as GET, form-encoded",
                }
            }
        },
    }
}
