"""Model cards, clinicians' reviews and the transparency report (CONTRACT.md v1.1).

- ``GET /models/{name}/{version}``: the model card (any authenticated caller);
- ``POST /referrals/{id}/review`` (scope ``system/RiskAssessment.c``): a clinician's
  own risk level, 201 with the review;
- ``GET /transparency/report?from=&to=[&audience=public]`` (scope ``system/*.rs``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import get_services
from gateway.auth.access_tokens import AccessTokenRejected, Principal
from gateway.auth.dependencies import Authenticator
from gateway.errors import AuthenticationRequired, Issue, NotFound
from gateway.json import ORJSONResponse
from gateway.services import Services
from gateway.trust.cards import card_view
from gateway.trust.config import find_card
from gateway.trust.report import build_report, parse_period
from gateway.trust.reviews import Reviewer, record_review

router = APIRouter(tags=["trust"])
_bearer = HTTPBearer(auto_error=False, description="SMART Backend Services access token")
RiskLevel = Literal["none", "low", "moderate", "high", "imminent"]
_OUTCOME = {
    "application/fhir+json": {
        "schema": {
            "type": "object",
            "required": ["resourceType", "issue"],
            "properties": {
                "resourceType": {"const": "OperationOutcome"},
                "issue": {"type": "array"},
            },
        }
    }
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _OUTCOME}


_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("No bearer token, or one that does not verify"),
    403: _error("The token lacks the scope this route needs"),
}


async def any_client(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """A verified bearer token, whatever its scopes."""
    if credentials is None or not credentials.credentials:
        raise AuthenticationRequired("a bearer token is required", error="invalid_request")
    try:
        principal: Principal = await request.app.state.token_verifier.verify(
            credentials.credentials
        )
    except AccessTokenRejected as rejected:
        raise AuthenticationRequired(
            "the access token is invalid or expired", error="invalid_token"
        ) from rejected
    return principal


@router.get(
    "/models/{name}/{version}",
    response_class=ORJSONResponse,
    responses={
        200: {"description": "The model card: ONC HTI-1 source attributes, declared mix"},
        401: _AUTH_ERRORS[401],
        404: _error("No model card declares this name and version"),
    },
)
async def get_model_card(
    name: str,
    version: str,
    services: Annotated[Services, Depends(get_services)],
    _principal: Annotated[Principal, Depends(any_client)],
) -> dict[str, Any]:
    if find_card(services.config.models, name, version) is None:
        raise NotFound(
            f"No model card declares {name} {version}.",
            issues=[Issue("not a declared model version", expression="version", code="not-found")],
        )
    return card_view(services.config.models, name, version)


class ReviewBody(BaseModel):
    """A clinician's own judgement of the risk, and an optional note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    risk_level: RiskLevel
    note: str | None = Field(default=None, max_length=2000)
    by: str | None = Field(default=None, min_length=1, max_length=200)
    """The person reviewing, as a colleague would recognise them (default: the client)."""


@router.post(
    "/referrals/{referral_id}/review",
    status_code=201,
    response_class=ORJSONResponse,
    responses={
        201: {"description": "The review on record (a reviewer's later review replaces theirs)"},
        400: _error("The body is not valid JSON"),
        **_AUTH_ERRORS,
        403: _error("The scope is missing, or the caller (e.g. the submitting app) may not review"),
        404: _error("No such referral for this client"),
        413: _error("The body is too large"),
        415: _error("The body is not JSON"),
        422: _error("Invalid body"),
    },
)
async def review_referral(
    referral_id: str,
    body: ReviewBody,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(Authenticator("system/RiskAssessment.c"))],
) -> dict[str, Any]:
    reviewer = Reviewer.client(principal.client_id, is_operator=principal.is_operator, by=body.by)
    review = await record_review(
        services, referral_id, reviewer, body.risk_level, body.note or None
    )
    services.wake_worker()  # the drift monitor looks again (under-triage)
    return review


@router.get(
    "/transparency/report",
    response_class=ORJSONResponse,
    responses={
        200: {"description": "The transparency report (CONTRACT.md v1.1)"},
        **_AUTH_ERRORS,
        422: _error("A date that is not YYYY-MM-DD, 'to' before 'from', or an unknown audience"),
    },
)
async def transparency_report(
    services: Annotated[Services, Depends(get_services)],
    _principal: Annotated[Principal, Depends(Authenticator("system/*.rs"))],
    start: Annotated[
        str,
        Query(
            alias="from",
            description="First day (UTC), YYYY-MM-DD",
            json_schema_extra={"format": "date"},
        ),
    ],
    end: Annotated[
        str,
        Query(
            alias="to",
            description="Last day (UTC), inclusive",
            json_schema_extra={"format": "date"},
        ),
    ],
    audience: Annotated[Literal["internal", "public"], Query()] = "internal",
) -> dict[str, Any]:
    period = parse_period(start, end)
    return await build_report(services.engine, services.config, period, audience, services.clock())
