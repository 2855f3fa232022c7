"""``POST /triage-results``: a triage result in, a referral out (CONTRACT.md, "Intake")."""

from __future__ import annotations

import time
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.api.bodies import read_json_bytes
from gateway.api.deps import get_services
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.errors import RateLimited
from gateway.intake.schema import TriageSubmission
from gateway.logging import get_logger
from gateway.services import Services

router = APIRouter(tags=["intake"])
log = get_logger("gateway.intake")

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": TriageSubmission.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
            }
        },
    }
}


@router.post(
    "/triage-results",
    status_code=202,
    openapi_extra=_BODY,
    responses={
        202: {"description": "Accepted: the referral, its routing and consent summary"},
        400: {"description": "Not JSON, or a key repeated in one object"},
        403: {"description": "Consent covers no destination"},
        409: {"description": "triage_id reused with a different body"},
        413: {"description": "Body too large (after gzip decoding)"},
        415: {"description": "Not application/json, or an encoding other than gzip"},
        422: {"description": "Invalid field(s)"},
        429: {"description": "The client's rate limit is spent; see Retry-After"},
        503: {"description": "At capacity (admission queue full); see Retry-After"},
    },
)
async def submit_triage_result(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(Authenticator("system/ServiceRequest.c"))],
) -> Response:
    wait = request.app.state.rate_limiter.retry_after(principal.client_id)
    if wait is not None:
        services.metrics.intake_rate_limited.labels(client_id=principal.client_id).inc()
        raise RateLimited(
            "This client has sent more triage results than its rate limit allows.",
            retry_after=wait,
        )
    body = await read_json_bytes(request, services.settings.max_body_bytes)
    started = time.perf_counter()
    accepted = await services.intake_batcher.submit(body, principal.client_id)
    if not accepted.replayed:
        services.metrics.intake_seconds.observe(time.perf_counter() - started)
        services.metrics.accepted.labels(_risk_level(body)).inc()
        services.wake_worker()
        log.info(
            "referral.accepted", referral_id=accepted.referral_id, client_id=principal.client_id
        )
    return Response(
        accepted.body,
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/referrals/{accepted.referral_id}"},
    )


def _risk_level(submitted: bytes) -> str:
    """The accepted submission's ``risk.level`` (intake has validated it)."""
    return str(orjson.loads(submitted)["risk"]["level"])
