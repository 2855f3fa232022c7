"""Operator endpoints for dead letters (the API side of ``gateway dlq list|replay``).

``GET /operations/dead-letters`` lists deliveries that ran out of attempts or failed
permanently, each with its reason; ``POST /operations/dead-letters/{delivery_id}/replay``
queues one again with a fresh attempt budget. Both need an operator token (scope
``system/*.rs``); replaying also needs ``system/Task.u``, since it changes what the
gateway will send.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gateway.api.deps import get_services
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.delivery.dead_letters import dead_letters, replay_dead_letter
from gateway.delivery.status import DeliveryStatus
from gateway.errors import Forbidden, NotFound
from gateway.json import ORJSONResponse
from gateway.logging import get_logger
from gateway.services import Services

router = APIRouter(prefix="/operations", tags=["operations"])
log = get_logger("gateway.api.operations")

_operator = Authenticator("system/*.rs")
_operator_writer = Authenticator("system/Task.u")


def _require_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise Forbidden("Only an operator (scope system/*.rs) may handle dead letters.")


@router.get("/dead-letters", response_class=ORJSONResponse)
async def list_dead_letters(
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_operator)],
) -> dict[str, Any]:
    _require_operator(principal)
    async with services.engine.connect() as conn:
        letters = await dead_letters(conn)
    return {"dead_letters": [letter.to_dict() for letter in letters], "total": len(letters)}


@router.post("/dead-letters/{delivery_id}/replay", response_class=ORJSONResponse)
async def replay(
    delivery_id: str,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_operator_writer)],
) -> dict[str, Any]:
    _require_operator(principal)
    async with services.engine.begin() as conn:
        queued = await replay_dead_letter(
            conn,
            delivery_id,
            services.clock(),
            audit=services.audit,
            operator=principal.client_id,
        )
    if not queued:
        raise NotFound(f"No dead-lettered delivery {delivery_id}.")
    services.wake_worker()
    log.info("delivery.replayed", delivery_id=delivery_id, client_id=principal.client_id)
    return {"delivery_id": delivery_id, "status": DeliveryStatus.PENDING.value}
