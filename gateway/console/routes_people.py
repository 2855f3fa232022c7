"""``/console/people`` (privacy officers; operators too): a person's accounting of
disclosures, consents with their plain summaries, export as a download, erasure
confirmed by typing the identifier, and the audit log's verification
(``gateway.patient_rights``, ``gateway.operations.verify_audit``)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from consent.summary import summarize
from gateway.console.accounts import ConsoleRole
from gateway.console.web import ConsoleRoute, Refused, check_post, render, services_of, viewer_of
from gateway.operations import verify_audit
from gateway.patient_rights import (
    PersonKey,
    accounting,
    erase,
    export_bundle,
    patient_ids,
    record_export,
)
from gateway.services import Services
from gateway.store.tables import fhir_resources

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
ROLES = (ConsoleRole.PRIVACY_OFFICER, ConsoleRole.OPERATOR)


def _person(identifier: str) -> PersonKey:
    person = PersonKey.parse(identifier.strip())
    if person is None:
        raise Refused(422, "Name the person as system|value, e.g. https://app.example.org/patients|p-123.")
    return person


async def _ids(services: Services, person: PersonKey) -> list[str]:
    async with services.engine.connect() as conn:
        ids = await patient_ids(conn, person, services.settings.audit_hash_key)
    if not ids:
        raise Refused(404, "Nothing is held about that person.")
    return ids


@router.get("/people")
async def people_page(request: Request, identifier: str | None = None) -> Response:
    viewer = await viewer_of(request)
    viewer.require(*ROLES)
    services = services_of(request)
    async with services.engine.connect() as conn:
        verified = await verify_audit(conn, None)
    context: dict[str, object] = {"identifier": identifier or "", "verified": verified}
    if identifier:
        person = _person(identifier)
        async with services.engine.connect() as conn:
            ids = await patient_ids(conn, person, services.settings.audit_hash_key)
            rows = await accounting(conn, ids) if ids else []
            consents = [
                orjson.loads(row[0])
                for row in await conn.execute(
                    select(fhir_resources.c.body).where(
                        fhir_resources.c.resource_type == "Consent",
                        fhir_resources.c.patient_id.in_(ids),
                    )
                )
            ] if ids else []
        now = services.clock()
        context.update(
            found=bool(ids),
            disclosures=rows,
            consents=[(c, summarize(c, now=now)) for c in consents],
        )
    return render(request, "people.html", context)


@router.post("/people/export")
async def export(request: Request) -> Response:
    viewer = await viewer_of(request)
    viewer.require(*ROLES)
    form = await check_post(request, viewer.session.csrf_token)
    services = services_of(request)
    ids = await _ids(services, _person(form.get("identifier", "")))
    now = services.clock()
    async with services.engine.begin() as conn:
        bundle = await export_bundle(conn, ids, now=now, public_url=services.settings.public_url)
        await record_export(
            conn, services.audit, ids=ids, client_id=viewer.actor, count=len(bundle["entry"]),
            now=now,
        )
    return Response(
        orjson.dumps(bundle, option=orjson.OPT_INDENT_2),
        media_type="application/fhir+json",
        headers={"Content-Disposition": 'attachment; filename="person-export.json"'},
    )


@router.post("/people/erase")
async def erase_person(request: Request) -> Response:
    viewer = await viewer_of(request)
    viewer.require(*ROLES)
    form = await check_post(request, viewer.session.csrf_token)
    identifier = form.get("identifier", "").strip()
    if form.get("confirm", "").strip() != identifier:
        raise Refused(422, "Type the identifier exactly to confirm; nothing was erased.")
    services = services_of(request)
    person = _person(identifier)
    ids = await _ids(services, person)
    async with services.engine.begin() as conn:
        outcome = await erase(
            conn, person, ids, hash_key=services.settings.audit_hash_key, audit=services.audit,
            client_id=viewer.actor, now=services.clock(),
        )
    return render(request, "erased.html", {"identifier": identifier, "outcome": outcome})
