"""``/console/crisis``: the crisis desk (CONTRACT.md v1.1 "Console").

Crisis responders see their crisis destinations' queue, operators every one.
**Acknowledge** leads to a confirmation with an optional **Note**; the
acknowledgement is recorded under the username exactly as
``POST /referrals/{id}/acknowledge`` records it (``gateway.crisis.acknowledge``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from gateway.console.accounts import ConsoleRole
from gateway.console.crisis_queue import QueueItem, crisis_queue
from gateway.console.facts import instant, shown
from gateway.console.seen import audit_first_sightings
from gateway.console.web import (
    ConsoleRoute,
    Refused,
    Viewer,
    check_post,
    render,
    services_of,
    viewer_of,
)
from gateway.crisis.acknowledge import AcknowledgementService, Caller, Statement

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
DESK_ROLES = (ConsoleRole.OPERATOR, ConsoleRole.CRISIS_RESPONDER)


def _desks(request: Request, viewer: Viewer) -> list[str]:
    config = services_of(request).config
    if viewer.account.is_operator:
        return [d.name for d in config.crisis_destinations]
    return list(viewer.account.destinations)


async def _queue(request: Request, viewer: Viewer, page: str) -> list[QueueItem]:
    services = services_of(request)
    async with services.engine.begin() as conn:
        items = await crisis_queue(conn, services.config, _desks(request, viewer), services.clock)
        sightings = {f"crisis:{i.delivery_id}": (i.referral_id, i.patient_id) for i in items}
        await audit_first_sightings(request, conn, viewer, sightings, page)
    return items


@router.get("/crisis")
async def crisis_page(request: Request, acknowledged: str | None = None) -> Response:
    viewer = await viewer_of(request)
    viewer.require(*DESK_ROLES)
    items = await _queue(request, viewer, "/console/crisis")
    return render(
        request,
        "crisis.html",
        {
            "items": items,
            "instant": instant,
            "shown": shown,
            "poll_seconds": services_of(request).config.console.poll_seconds,
            "acknowledged": acknowledged,
            "desks": _desks(request, viewer),
        },
    )


@router.get("/crisis/queue")
async def crisis_rows(request: Request) -> Response:
    """The queue's rows alone, for the page's script to poll."""
    viewer = await viewer_of(request)
    viewer.require(*DESK_ROLES)
    items = await _queue(request, viewer, "/console/crisis")
    return render(request, "crisis_rows.html", {"items": items, "instant": instant, "shown": shown})


def _item(items: list[QueueItem], referral_id: str) -> QueueItem:
    for item in items:
        if item.referral_id == referral_id:
            return item
    raise Refused(404, "This referral is not waiting on your crisis desk.")


@router.get("/crisis/{referral_id}/acknowledge")
async def acknowledge_form(request: Request, referral_id: str) -> Response:
    viewer = await viewer_of(request)
    viewer.require(*DESK_ROLES)
    item = _item(await _queue(request, viewer, "/console/crisis"), referral_id)
    return render(request, "acknowledge.html", {"item": item})


@router.post("/crisis/{referral_id}/acknowledge")
async def acknowledge(request: Request, referral_id: str) -> Response:
    viewer = await viewer_of(request)
    viewer.require(*DESK_ROLES)
    form = await check_post(request, viewer.session.csrf_token)
    services = services_of(request)
    desks = None if viewer.account.is_operator else frozenset(viewer.account.destinations)
    caller = Caller(client_id=viewer.actor, is_operator=viewer.account.is_operator, desks=desks)
    note = form.get("note", "").strip()[:2000] or None
    service = AcknowledgementService(
        services.engine, services.config, services.audit, services.metrics
    )
    await service.acknowledge(
        referral_id, Statement(by=viewer.username, note=note), caller, services.clock()
    )
    return RedirectResponse(f"/console/crisis?acknowledged={referral_id}", status_code=303)
