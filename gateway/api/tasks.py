"""``PUT`` and ``PATCH /fhir/Task/{id}``: the referral's recipient (or requester) moves
its Task along the closed loop (scope ``system/Task.u``, ``If-Match`` required).

FHIR R4 http.html#update and #patch; PATCH takes JSON Patch
(``application/json-patch+json``). Rules: ``gateway.referral_loop.task_rules``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from gateway.api.bodies import read_json
from gateway.api.deps import get_services
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.errors import MalformedRequest
from gateway.json import FhirJSONResponse
from gateway.referral_loop.task_update import Caller, TaskUpdater
from gateway.services import Services

router = APIRouter(prefix="/fhir", tags=["fhir"])
_update = Authenticator("system/Task.u")
JSON_PATCH = "application/json-patch+json"


def _answer(task: dict[str, Any]) -> FhirJSONResponse:
    return FhirJSONResponse(task, headers={"ETag": f'W/"{task["meta"]["versionId"]}"'})


def _caller(principal: Principal) -> Caller:
    return Caller(client_id=principal.client_id, is_operator=principal.is_operator)


@router.put("/Task/{task_id}", response_class=FhirJSONResponse)
async def update_task(
    task_id: str,
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_update)],
    if_match: Annotated[str | None, Header()] = None,
) -> FhirJSONResponse:
    proposed = await read_json(request, services.settings.max_body_bytes)
    async with services.engine.begin() as conn:
        task = await TaskUpdater(services.config, services.audit).put(
            conn,
            task_id,
            proposed,
            if_match=if_match,
            caller=_caller(principal),
            now=services.clock(),
        )
    services.wake_worker()
    return _answer(task)


@router.patch("/Task/{task_id}", response_class=FhirJSONResponse)
async def patch_task(
    task_id: str,
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_update)],
    if_match: Annotated[str | None, Header()] = None,
) -> FhirJSONResponse:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != JSON_PATCH:
        raise MalformedRequest(f"PATCH takes a JSON Patch document ({JSON_PATCH}).")
    operations = await read_json(request, services.settings.max_body_bytes)
    async with services.engine.begin() as conn:
        task = await TaskUpdater(services.config, services.audit).patch(
            conn,
            task_id,
            operations,
            if_match=if_match,
            caller=_caller(principal),
            now=services.clock(),
        )
    services.wake_worker()
    return _answer(task)
