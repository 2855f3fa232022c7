"""The OpenAPI document, made to tell the truth about every route (OpenAPI 3.1).

FastAPI describes what a route's signature shows. What the gateway's shared
machinery adds is the same for every route and is added here, from the route
itself, so a route added later is described too:

- a route guarded by ``Authenticator`` can answer 401 and 403, and is marked with
  the bearer security scheme;
- a route with path parameters can answer 404; one with any parameter or body, 422
  (``RequestValidationError``, rendered as an OperationOutcome);
- a route with a body: 400, 413, 415, 422; under ``/fhir``: 406 (``JsonOnly``);
- every route but the probes: 503 (``ConcurrencyLimit``, shutdown);
- every error is an OperationOutcome sent as ``application/fhir+json``, except the
  token endpoint's, which are the OAuth 2.0 body (RFC 6749 §5.2).

Routes that read their body themselves (FHIR resources, JSON Patch) are listed in
``RAW_BODIES`` with the media type and the shape they take.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from gateway.api.openapi_responses import OUTCOME_SCHEMA, RESOURCE_SCHEMA, outcome
from gateway.auth.dependencies import Authenticator
from gateway.json import FHIR_JSON

BEARER = "SMART"
UNLIMITED = frozenset({"/healthz", "/metrics"})
"""Never refused by ``ConcurrencyLimit`` and never 503 (``/readyz`` is 503 when not ready)."""
OAUTH_ENDPOINT = "/auth/token"
RAISED: dict[tuple[str, str], set[int]] = {
    ("put", "/fhir/Task/{task_id}"): {412},
    ("patch", "/fhir/Task/{task_id}"): {412},
    ("put", "/fhir/Consent/{consent_id}"): {412},
    ("post", "/hooks/ehr/{destination}"): {403},
}
"""Statuses a route's own logic raises beyond what its shape implies."""
ETAG_PATTERN = {"type": "string", "pattern": '^W/"[0-9]+"$'}
PERSON_IDENTIFIER = {"type": "string", "pattern": "^[^|]+[|].+$"}
"""``/patients/{system}|{value}``: anything else is a 422 (gateway.api.patients)."""
_OAUTH_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def _resource_of(rtype: str) -> dict[str, Any]:
    schema = dict(RESOURCE_SCHEMA)
    schema["properties"] = {
        "resourceType": {"type": "string", "enum": [rtype]},
        "id": {"type": "string", "pattern": "^[A-Za-z0-9\\-.]{1,64}$"},
    }
    return schema


_JSON_PATCH = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"type": "string", "enum": ["add", "remove", "replace", "test", "move", "copy"]},
            "path": {"type": "string"},
            "value": {},
        },
    },
}
RAW_BODIES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("post", "/fhir/Consent"): (FHIR_JSON, _resource_of("Consent")),
    ("put", "/fhir/Consent/{consent_id}"): (FHIR_JSON, _resource_of("Consent")),
    ("put", "/fhir/Task/{task_id}"): (FHIR_JSON, _resource_of("Task")),
    ("patch", "/fhir/Task/{task_id}"): ("application/json-patch+json", _JSON_PATCH),
    ("post", "/fhir/Subscription"): (FHIR_JSON, _resource_of("Subscription")),
}
"""Bodies read by the route itself: (method, path) -> (media type, schema)."""
SUCCESS_MEDIA = {
    ("post", "/fhir/Consent"): FHIR_JSON,
    ("put", "/fhir/Consent/{consent_id}"): FHIR_JSON,
    ("get", "/metrics"): "text/plain",
}
"""Routes answering through a plain ``Response`` whose media type FastAPI cannot see."""


def _dependencies(dependant: Dependant) -> list[Any]:
    found = [dependant.call]
    for sub in dependant.dependencies:
        found.extend(_dependencies(sub))
    return found


def _needs_token(route: Any) -> bool:
    return any(isinstance(call, Authenticator) for call in _dependencies(route.dependant))


def _statuses(route: Any, method: str, path: str, operation: dict[str, Any]) -> set[int]:
    statuses: set[int] = set() if path in UNLIMITED else {503}
    if path == OAUTH_ENDPOINT:
        return statuses  # its 400 and 401 are OAuth bodies (_oauth_errors)
    statuses |= RAISED.get((method, path), set())
    if _needs_token(route):
        statuses |= {401, 403}
    if route.dependant.path_params:
        statuses |= {404, 422}
    if operation.get("parameters"):
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if path == "/fhir" or path.startswith("/fhir/"):
        statuses.add(406)
    return statuses


def _describe(route: Any, method: str, path: str, operation: dict[str, Any]) -> None:
    if (method, path) in RAW_BODIES:
        media, schema = RAW_BODIES[(method, path)]
        operation["requestBody"] = {"required": True, "content": {media: {"schema": schema}}}
    responses: dict[str, Any] = operation["responses"]
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
            parameter["schema"] = ETAG_PATTERN
        if parameter["in"] == "path" and path.startswith("/patients/{identifier}"):
            parameter["schema"] = {**parameter["schema"], **PERSON_IDENTIFIER}
    for status in _statuses(route, method, path, operation):
        current = responses.get(str(status))
        if current is None or "HTTPValidationError" in str(current) or not current.get("content"):
            responses[str(status)] = outcome(status, (current or {}).get("description"))
    success_media = SUCCESS_MEDIA.get((method, path))
    if success_media:
        for code, answer in responses.items():
            if code.startswith("2") and answer.get("content"):
                answer["content"] = {success_media: next(iter(answer["content"].values()))}
    if _needs_token(route):
        operation["security"] = [{BEARER: []}]
    else:
        operation.pop("security", None)


def _oauth_errors(document: dict[str, Any]) -> None:
    token = document["paths"].get("/auth/token", {}).get("post")
    if token is None:
        return
    for status, description in ((400, "OAuth 2.0 error"), (401, "invalid_client")):
        token["responses"][str(status)] = {
            "description": description,
            "content": {"application/json": {"schema": _OAUTH_ERROR}},
        }


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route with its effective path and dependencies (prefixes applied)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    if contexts is None:  # FastAPI before included routers became contexts
        yield from (r for r in app.routes if isinstance(r, APIRoute))
        return
    for context in contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def truthful_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with what the shared machinery answers added."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    routes = {
        (method.lower(), route.path_format): route
        for route in api_routes(app)
        if route.include_in_schema
        for method in route.methods or ()
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            route = routes.get((method, path))
            if route is not None:
                _describe(route, method, path, operation)
    _oauth_errors(document)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["OperationOutcome"] = OUTCOME_SCHEMA
    if "HTTPValidationError" not in str(document["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "SMART Backend Services access token from POST /auth/token",
        }
    }
    app.openapi_schema = document
    return document
