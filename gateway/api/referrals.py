"""``GET /referrals/{id}``: the submitting client or an operator sees it all; a client
acting for a destination it was delivered to sees its minimised view
(``gateway.recipient_view``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gateway.api.deps import get_services
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.errors import NotFound
from gateway.json import ORJSONResponse
from gateway.recipient_view import load_recipient_view
from gateway.referral_view import load_referral
from gateway.services import Services
from gateway.trust.view import trust_sections

router = APIRouter(tags=["referrals"])


@router.get("/referrals/{referral_id}", response_class=ORJSONResponse)
async def get_referral(
    referral_id: str,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(Authenticator("system/ServiceRequest.r"))],
) -> dict[str, Any]:
    async with services.engine.connect() as conn:
        view = await load_referral(
            conn, referral_id, client_id=None if principal.is_operator else principal.client_id
        )
        if view is not None:  # the AI's part with its model card, and clinicians' reviews
            view.update(await trust_sections(conn, services.config.models, referral_id, view))
        else:  # a recipient sees what its consent category may see
            view = await load_recipient_view(
                conn, services.config, referral_id, principal.client_id, now=services.clock()
            )
    if view is None:
        raise NotFound(f"No referral {referral_id} for this client.")
    return view

