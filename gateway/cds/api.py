"""The CDS Hooks endpoints: discovery, the ``patient-view`` service, its feedback.

CDS Hooks 2.0: §"Discovery" (``GET {base}/cds-services``), §"Calling a CDS Service"
(``POST {base}/cds-services/{id}``, answered ``{"cards": [...]}``; 412 when the Patient
cannot be obtained) and §"Feedback" (``POST {base}/cds-services/{id}/feedback``).
Every call but discovery must carry the EHR's signed JWT (``gateway.cds.trust``);
discovery verifies one when given. Answers are ``application/json``; errors are an
OperationOutcome in ``application/json`` (401 also with ``WWW-Authenticate: Bearer``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from gateway.api.bodies import read_limited
from gateway.api.errors import operation_outcome
from gateway.cds.cors import CorsPolicy
from gateway.cds.feedback import FeedbackService
from gateway.cds.hook_request import FeedbackRequest, HookRequest
from gateway.cds.service import PatientViewService
from gateway.cds.trust import CdsCaller, CdsJwtVerifier, bearer_token
from gateway.context import Clock
from gateway.errors import AuthenticationRequired, GatewayError, Issue, MalformedRequest, NotFound
from gateway.intake.validate import expression
from gateway.json import ORJSONResponse
from gateway.logging import get_logger

log = get_logger("gateway.cds")
SERVICE_ID = "mental-health-referrals"
SERVICE = {
    "id": SERVICE_ID,
    "hook": "patient-view",
    "title": "Open mental-health referrals",
    "description": (
        "When a chart opens, shows one card per open mental-health referral the gateway "
        "holds for this person: the triage scores, what the AI triage model produced "
        "(labelled as such, with its model card), and a link to the referral."
    ),
    "prefetch": {"patient": "Patient/{{context.patientId}}"},
}
JSON = "application/json"
_OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "items": {"type": "object"}},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _OUTCOME_SCHEMA}}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


@dataclass
class CdsHooks:
    """What the routes need, wired by the composition root."""

    verifier: CdsJwtVerifier
    patient_view: PatientViewService
    feedback: FeedbackService
    public_url: str
    clock: Clock
    max_body_bytes: int
    cors: CorsPolicy


def error_response(error: GatewayError) -> Response:
    headers = {}
    if isinstance(error, AuthenticationRequired):
        headers["WWW-Authenticate"] = f'Bearer realm="cds-services", error="{error.error}"'
    return ORJSONResponse(
        operation_outcome(error.issues, error.issue_code),
        status_code=error.status_code,
        headers=headers,
    )


async def _answer(call: Callable[[], Awaitable[Any]], cors: dict[str, str]) -> Response:
    try:
        response: Response = ORJSONResponse(await call())
    except GatewayError as error:
        if isinstance(error, AuthenticationRequired):
            log.info("cds.refused", reason_code=getattr(error, "reason", "unauthorized"))
        response = error_response(error)
    response.headers.update(cors)
    return response


async def _parse(request: Request, model: type[Any], limit: int) -> Any:
    raw = await read_limited(request, limit)
    try:
        return model.model_validate(orjson.loads(raw))
    except orjson.JSONDecodeError:
        raise MalformedRequest("The body is not valid JSON.") from None
    except ValidationError as invalid:
        issues = [
            Issue(f"{expression(e['loc'])}: {e['msg']}", expression=expression(e["loc"]))
            for e in invalid.errors()
        ]
        raise MalformedRequest("The body is not a valid CDS Hooks call.", issues=issues) from None


def build_cds_router(cds: CdsHooks) -> APIRouter:
    router = APIRouter(tags=["cds-hooks"])

    async def caller(request: Request) -> CdsCaller:
        return await cds.verifier.verify(
            bearer_token(request.headers.get("authorization")),
            audience=f"{cds.public_url}{request.url.path}",
            now=cds.clock(),
        )

    def cors(request: Request) -> dict[str, str]:
        return cds.cors.headers(request.headers.get("origin"))

    def preflight(request: Request) -> Response:
        headers = cds.cors.headers(request.headers.get("origin"), preflight=True)
        return Response(status_code=204 if headers else 403, headers=headers)

    _preflight_responses: dict[int | str, dict[str, Any]] = {
        204: {"description": "CORS preflight from a configured browser origin"},
        403: {"description": "The origin is not one configured under cds_clients[].origins"},
    }
    for path in (
        "/cds-services",
        "/cds-services/{service_id}",
        "/cds-services/{service_id}/feedback",
    ):
        router.add_api_route(
            path,
            preflight,
            methods=["OPTIONS"],
            responses=_preflight_responses,
            include_in_schema=False,
        )

    def known(service_id: str) -> None:
        if service_id != SERVICE_ID:
            raise NotFound(f"No CDS service '{service_id}' here.")

    @router.get(
        "/cds-services",
        response_class=ORJSONResponse,
        responses={
            200: _ok("The CDS services offered", {"type": "object"}),
            401: _error("A JWT was given and it is not acceptable"),
        },
    )
    async def discovery(request: Request) -> Response:
        async def run() -> dict[str, Any]:
            if request.headers.get("authorization") is not None:
                await caller(request)
            return {"services": [SERVICE]}

        return await _answer(run, cors(request))

    @router.post(
        "/cds-services/{service_id}",
        response_class=ORJSONResponse,
        openapi_extra=_body(HookRequest),
        responses={
            200: _ok("One card per open referral", {"type": "object"}),
            400: _error("Not a valid patient-view call"),
            401: _error("No JWT, or one that is not acceptable"),
            404: _error("No such CDS service"),
            412: _error("Neither the Patient prefetch nor fhirServer access was given"),
            413: _error("Body too large"),
        },
    )
    async def call_service(service_id: str, request: Request) -> Response:
        async def run() -> dict[str, Any]:
            who = await caller(request)
            known(service_id)
            hook = await _parse(request, HookRequest, cds.max_body_bytes)
            return {"cards": await cds.patient_view.cards(hook, who)}

        return await _answer(run, cors(request))

    @router.post(
        "/cds-services/{service_id}/feedback",
        response_class=ORJSONResponse,
        openapi_extra=_body(FeedbackRequest),
        responses={
            200: _ok("Feedback stored", {"type": "object"}),
            400: _error("Not valid feedback, or a card never issued to this client"),
            401: _error("No JWT, or one that is not acceptable"),
            404: _error("No such CDS service"),
            413: _error("Body too large"),
        },
    )
    async def feedback(service_id: str, request: Request) -> Response:
        async def run() -> dict[str, Any]:
            who = await caller(request)
            known(service_id)
            body = await _parse(request, FeedbackRequest, cds.max_body_bytes)
            return {"recorded": await cds.feedback.record(body, who)}

        return await _answer(run, cors(request))

    return router
