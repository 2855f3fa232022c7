"""``POST /fhir/Subscription`` (R4 Subscriptions Backport, scope ``system/Subscription.c``),
``GET /fhir/Subscription/{id}``, ``$status``; and ``/hooks/ehr/{destination}``, where an
EHR's rest-hook subscription nudges the gateway to sync Task status.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Request, Response

from gateway.api.bodies import read_json_bytes
from gateway.api.deps import get_services
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.context import fhir_instant
from gateway.errors import Forbidden, MalformedRequest, NotFound
from gateway.json import FhirJSONResponse
from gateway.referral_loop.recipients import owner_references
from gateway.referral_loop.subscription_store import (
    Subscriber,
    create_subscription,
    facts,
    load_subscription,
    resource_view,
)
from gateway.referral_loop.subscriptions import status_bundle
from gateway.referral_loop.sync_hook import HOOK_HEADER, nudge
from gateway.services import Services

router = APIRouter(tags=["fhir"])
_create = Authenticator("system/Subscription.c")
_read = Authenticator(any_of=["system/Subscription.r", "system/Subscription.c", "system/*.rs"])


def _subscriber(principal: Principal, services: Services) -> Subscriber:
    if principal.is_operator:
        return Subscriber(principal.client_id, ["*"])
    return Subscriber(principal.client_id, owner_references(services.config, principal.client_id))


@router.post("/fhir/Subscription", response_class=FhirJSONResponse, status_code=201)
async def create(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_create)],
) -> FhirJSONResponse:
    body = await read_json_bytes(request, services.settings.max_body_bytes, typed=False)
    try:
        resource: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequest("The body is not JSON.") from None
    async with services.engine.begin() as conn:
        view = await create_subscription(
            conn,
            resource,
            _subscriber(principal, services),
            new_id=services.new_id(),
            now=services.clock(),
        )
    services.wake_worker()
    location = f"{services.settings.public_url}/fhir/Subscription/{view['id']}"
    return FhirJSONResponse(view, status_code=201, headers={"Location": location})


async def _row(subscription_id: str, services: Services, principal: Principal) -> Any:
    async with services.engine.connect() as conn:
        row = await load_subscription(
            conn,
            subscription_id,
            client_id=None if principal.is_operator else principal.client_id,
        )
    if row is None:
        raise NotFound(f"Subscription/{subscription_id} is not known.")
    return row


@router.get("/fhir/Subscription/{subscription_id}", response_class=FhirJSONResponse)
async def read(
    subscription_id: str,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_read)],
) -> dict[str, Any]:
    return resource_view(await _row(subscription_id, services, principal))


@router.get(
    "/fhir/Subscription/{subscription_id}/$status",
    response_class=FhirJSONResponse,
    operation_id="subscription_status_get",
)
@router.post(
    "/fhir/Subscription/{subscription_id}/$status",
    response_class=FhirJSONResponse,
    operation_id="subscription_status_post",
)
async def status(
    subscription_id: str,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_read)],
) -> dict[str, Any]:
    row = await _row(subscription_id, services, principal)
    return status_bundle(
        facts(row, f"{services.settings.public_url}/fhir"),
        bundle_id=services.new_id(),
        timestamp=fhir_instant(services.clock()),
    )


@router.post("/hooks/ehr/{destination}", operation_id="ehr_hook_post")
@router.put(
    "/hooks/ehr/{destination}/{rest:path}", operation_id="ehr_hook_put", include_in_schema=False
)
@router.post(
    "/hooks/ehr/{destination}/{rest:path}",
    operation_id="ehr_hook_post_path",
    include_in_schema=False,
)
async def ehr_hook(
    destination: str,
    services: Annotated[Services, Depends(get_services)],
    secret: Annotated[str | None, Header(alias=HOOK_HEADER)] = None,
) -> Response:
    async with services.engine.begin() as conn:
        accepted = await nudge(conn, destination, secret, services.clock())
    if not accepted:
        raise Forbidden("unknown hook or wrong hook secret")
    services.wake_worker()
    return Response(status_code=200)
