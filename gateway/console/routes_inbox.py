"""``/console/inbox`` and ``/console/referrals/{id}`` (CONTRACT.md v1.1 "Console").

Buttons **Accept**, **Reject** (with a **Reason**), **Start** and **Complete** each
post their own form; the Task is updated by ``gateway.referral_loop.task_update`` exactly as
``PUT /fhir/Task/{id}`` updates it (If-Match on the version the page showed, the SDOH
workflow rules, audit, subscriptions and app webhooks).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.config import RISK_LEVELS
from gateway.console.accounts import ConsoleRole
from gateway.console.facts import instant, shown
from gateway.console.referrals_seen import ACTIONS, SeenReferral, inbox, one_referral
from gateway.console.seen import audit_first_sightings
from gateway.console.timeline import timeline
from gateway.console.trust_panel import trust_of
from gateway.console.views_audit import audit_views
from gateway.console.web import (
    ConsoleRoute,
    Refused,
    Viewer,
    check_post,
    render,
    services_of,
    viewer_of,
)
from gateway.referral_loop.task_update import Caller, TaskUpdater
from gateway.services import Services
from gateway.store import fhir_store
from gateway.trust.reviews import Reviewer, record_review

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
READERS = (ConsoleRole.OPERATOR, ConsoleRole.RECIPIENT, ConsoleRole.CRISIS_RESPONDER)
NOT_YOURS = "There is no referral here addressed to you."


async def _addressed(
    conn: AsyncConnection, services: Services, viewer: Viewer, referral_id: str
) -> SeenReferral:
    """What ``viewer`` may see of the referral; 404 when it is not addressed to them."""
    seen = await one_referral(
        conn, services.config, viewer.role, viewer.account.destinations, referral_id,
        services.clock,
    )
    if seen is None:
        raise Refused(404, NOT_YOURS)
    return seen


@router.get("/inbox")
async def inbox_page(request: Request) -> Response:
    viewer = await viewer_of(request)
    viewer.require(ConsoleRole.OPERATOR, ConsoleRole.RECIPIENT)
    services = services_of(request)
    async with services.engine.begin() as conn:
        items = await inbox(
            conn, services.config, viewer.role, viewer.account.destinations, services.clock
        )
        sightings = {f"inbox:{i.referral_id}": (i.referral_id, i.patient_id) for i in items}
        await audit_first_sightings(request, conn, viewer, sightings, "/console/inbox")
    return render(request, "inbox.html", {"items": items, "shown": shown})


@router.get("/referrals/{referral_id}")
async def referral_page(request: Request, referral_id: str, done: str | None = None) -> Response:
    viewer = await viewer_of(request)
    viewer.require(*READERS)
    services = services_of(request)
    async with services.engine.begin() as conn:
        seen = await _addressed(conn, services, viewer, referral_id)
        await audit_views(
            conn,
            services.audit,
            username=viewer.username,
            is_operator=viewer.account.is_operator,
            seen=[(seen.referral_id, seen.patient_id)],
            page=f"/console/referrals/{referral_id}",
            now=services.clock(),
        )
        history = await timeline(conn, referral_id) if viewer.account.is_operator else None
        trust = await trust_of(conn, services, seen)
    return render(
        request,
        "referral.html",
        {
            "seen": seen,
            "history": history,
            "shown": shown,
            "instant": instant,
            "done": done,
            "risk_levels": RISK_LEVELS,
            **trust,
        },
    )


@router.post("/referrals/{referral_id}/review")
async def review(request: Request, referral_id: str) -> Response:
    """The clinician's own risk level ("Your risk level"), as POST /referrals/{id}/review."""
    viewer = await viewer_of(request)
    viewer.require(*READERS)
    form = await check_post(request, viewer.session.csrf_token)
    level = form.get("risk_level", "")
    if level not in RISK_LEVELS:
        raise Refused(422, "Choose a risk level.")
    services = services_of(request)
    async with services.engine.connect() as conn:
        await _addressed(conn, services, viewer, referral_id)  # 404 unless addressed to them
    reviewer = Reviewer.console_user(
        viewer.username,
        is_operator=viewer.account.is_operator,
        destinations=frozenset(viewer.account.destinations),
    )
    note = form.get("note", "").strip()[:2000] or None
    await record_review(services, referral_id, reviewer, level, note)
    return RedirectResponse(f"/console/referrals/{referral_id}?done=reviewed", status_code=303)


@router.post("/referrals/{referral_id}/tasks/{task_id}")
async def task_action(request: Request, referral_id: str, task_id: str) -> Response:
    viewer = await viewer_of(request)
    viewer.require(ConsoleRole.OPERATOR, ConsoleRole.RECIPIENT)
    form = await check_post(request, viewer.session.csrf_token)
    status = form.get("status", "")
    if status not in dict(ACTIONS):
        raise Refused(422, "That is not an action on a referral.")
    services = services_of(request)
    async with services.engine.begin() as conn:
        seen = await _addressed(conn, services, viewer, referral_id)
        if not any(p.task and p.task.get("id") == task_id for p in seen.parts):
            raise Refused(404, NOT_YOURS)
        stored = await fhir_store.read(conn, "Task", task_id)
        assert stored is not None
        proposed = {**stored.body, "status": status}
        reason = form.get("reason", "").strip()
        if reason:
            proposed["statusReason"] = {"text": reason[:1000]}
        caller = Caller(
            client_id=viewer.actor,
            is_operator=viewer.account.is_operator,
            destinations=frozenset(viewer.account.destinations),
        )
        await TaskUpdater(services.config, services.audit).put(
            conn,
            task_id,
            proposed,
            if_match=f'W/"{form.get("version", "")}"',
            caller=caller,
            now=services.clock(),
        )
    services.wake_worker()
    return RedirectResponse(f"/console/referrals/{referral_id}?done={status}", status_code=303)
