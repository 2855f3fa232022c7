"""Operators' pages: ``/console/dead-letters`` with **Replay**, emergency disclosures
awaiting review, and the clients and destination membership (read-only)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from gateway.console.accounts import ConsoleRole
from gateway.console.facts import shown
from gateway.console.web import ConsoleRoute, Refused, check_post, render, services_of, viewer_of
from gateway.crisis.acknowledge import Caller
from gateway.crisis.acknowledge import Statement as Review
from gateway.crisis.disclosures import EmergencyDisclosures
from gateway.delivery.dead_letters import dead_letters, replay_dead_letter
from gateway.store.clients import list_clients

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/dead-letters")
async def dead_letters_page(request: Request, replayed: str | None = None) -> Response:
    viewer = await viewer_of(request)
    viewer.require(ConsoleRole.OPERATOR)
    services = services_of(request)
    async with services.engine.connect() as conn:
        letters = await dead_letters(conn)
        clients = await list_clients(conn)
    pending = await EmergencyDisclosures(services.engine, services.audit).list(reviewed=False)
    return render(
        request,
        "dead_letters.html",
        {
            "letters": letters,
            "replayed": replayed,
            "disclosures": pending,
            "clients": clients,
            "destinations": services.config.destinations,
            "shown": shown,
        },
    )


@router.post("/dead-letters/{delivery_id}/replay")
async def replay(request: Request, delivery_id: str) -> Response:
    viewer = await viewer_of(request)
    viewer.require(ConsoleRole.OPERATOR)
    await check_post(request, viewer.session.csrf_token)
    services = services_of(request)
    async with services.engine.begin() as conn:
        queued = await replay_dead_letter(
            conn, delivery_id, services.clock(), audit=services.audit, operator=viewer.actor
        )
    if not queued:
        raise Refused(404, "That delivery is not a dead letter (any more).")
    services.wake_worker()
    return RedirectResponse(f"/console/dead-letters?replayed={delivery_id}", status_code=303)


@router.post("/emergency-disclosures/{seq}/review")
async def review(request: Request, seq: int) -> Response:
    viewer = await viewer_of(request)
    viewer.require(ConsoleRole.OPERATOR)
    form = await check_post(request, viewer.session.csrf_token)
    services = services_of(request)
    await EmergencyDisclosures(services.engine, services.audit).review(
        seq,
        Review(by=viewer.username, note=form.get("note", "").strip()[:2000] or None),
        Caller(client_id=viewer.actor, is_operator=True),
        services.clock(),
    )
    return RedirectResponse("/console/dead-letters#emergency", status_code=303)
