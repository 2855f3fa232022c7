"""The crisis path's endpoints (CONTRACT.md "Outbound", crisis; docs/crisis.md).

- ``POST /referrals/{id}/acknowledge`` (scope ``system/Task.u``): an operator or the
  crisis service's client acknowledges; 200 with the acknowledgements on record.
- ``GET /operations/emergency-disclosures`` (scope ``system/*.rs``, operators) and
  ``POST /operations/emergency-disclosures/{seq}/review`` (an operator holding
  ``system/Task.u`` too, as for replaying a dead letter).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import get_services
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.crisis.acknowledge import AcknowledgementService, Caller, Statement
from gateway.crisis.disclosures import EmergencyDisclosures
from gateway.errors import Forbidden
from gateway.json import ORJSONResponse
from gateway.services import Services

router = APIRouter(tags=["crisis"])
OPERATOR_SCOPE = "system/*.rs"
"""Held by operators only (``Principal.is_operator``)."""


class StatementBody(BaseModel):
    """Who is speaking (a name or role a colleague would recognise) and an optional note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)

    def statement(self) -> Statement:
        return Statement(by=self.by, note=self.note or None)


def _caller(principal: Principal) -> Caller:
    return Caller(client_id=principal.client_id, is_operator=principal.is_operator)


@router.post(
    "/referrals/{referral_id}/acknowledge",
    response_class=ORJSONResponse,
    responses={
        200: {"description": "The acknowledgements on record (the first one is kept)"},
        403: {"description": "The submitting app may not acknowledge its own referral"},
        404: {"description": "No such referral for this client"},
        422: {"description": "Invalid body, or the referral has no crisis delivery"},
    },
)
async def acknowledge(
    referral_id: str,
    body: StatementBody,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(Authenticator("system/Task.u"))],
) -> dict[str, Any]:
    service = AcknowledgementService(
        services.engine, services.config, services.audit, services.metrics
    )
    return await service.acknowledge(
        referral_id, body.statement(), _caller(principal), services.clock()
    )


@router.get("/operations/emergency-disclosures", response_class=ORJSONResponse)
async def list_emergency_disclosures(
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(Authenticator(OPERATOR_SCOPE))],
    reviewed: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    items = await EmergencyDisclosures(services.engine, services.audit).list(
        reviewed=reviewed, limit=limit
    )
    return {"emergency_disclosures": items}


@router.post("/operations/emergency-disclosures/{seq}/review", response_class=ORJSONResponse)
async def review_emergency_disclosure(
    seq: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: StatementBody,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(Authenticator("system/Task.u"))],
) -> dict[str, Any]:
    if not principal.is_operator:
        raise Forbidden("Only an operator (scope system/*.rs) may review emergency disclosures.")
    return await EmergencyDisclosures(services.engine, services.audit).review(
        seq, body.statement(), _caller(principal), services.clock()
    )
