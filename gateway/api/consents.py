"""Consent through the FHIR API, and its plain-language summary (CONTRACT.md).

``POST /fhir/Consent`` files one; ``PUT /fhir/Consent/{id}`` replaces it (status
``inactive`` revokes: every delivery not yet made stops, because the worker decides
again just before each one); ``GET /consents/{id}/summary`` says in plain words who
may receive what, for what, until when, and how to withdraw.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response

from consent.summary import summarize
from gateway.api.bodies import read_json
from gateway.api.deps import get_services
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.consents import file_consent, update_consent
from gateway.errors import InvalidInput, Issue, NotFound
from gateway.json import FHIR_JSON, ORJSONResponse
from gateway.services import Services
from gateway.store import fhir_store
from gateway.store.fhir_store import etag_version

router = APIRouter(tags=["consent"])


async def _resource(request: Request, services: Services) -> dict[str, Any]:
    resource = await read_json(request, services.settings.max_body_bytes)
    if not isinstance(resource, dict):
        raise InvalidInput("The body must be a Consent resource.", issues=[Issue("object", "$")])
    return resource


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    version = etag_version(if_match)
    if version is None:
        raise InvalidInput(
            'If-Match must be a version ETag like W/"1".',
            issues=[Issue("not a version", "If-Match")],
        )
    return version


def _fhir(resource: dict[str, Any], status_code: int, **headers: str) -> Response:
    version = resource["meta"]["versionId"]
    return Response(
        orjson.dumps(resource),
        status_code=status_code,
        media_type=FHIR_JSON,
        headers={"ETag": f'W/"{version}"', **headers},
    )


@router.post("/fhir/Consent", status_code=201)
async def create_consent(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(Authenticator("system/Consent.c"))],
) -> Response:
    resource = await _resource(request, services)
    async with services.engine.begin() as conn:
        stored = await file_consent(
            conn,
            resource,
            client_id=principal.client_id,
            now=services.clock(),
            new_id=services.new_id(),
            audit=services.audit,
        )
    return _fhir(stored, 201, Location=f"/fhir/Consent/{stored['id']}/_history/1")


@router.put("/fhir/Consent/{consent_id}")
async def replace_consent(
    consent_id: str,
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(Authenticator("system/Consent.u"))],
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    resource = await _resource(request, services)
    async with services.engine.begin() as conn:
        updated = await update_consent(
            conn,
            consent_id,
            resource,
            client_id=principal.client_id,
            is_operator=principal.is_operator,
            if_match=_version(if_match),
            now=services.clock(),
            audit=services.audit,
        )
    return _fhir(updated, 200)


@router.get("/consents/{consent_id}/summary", response_class=ORJSONResponse)
async def consent_summary(
    consent_id: str,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[
        Principal,
        Depends(
            Authenticator(
                any_of=["system/Consent.r", "system/Consent.c", "system/ServiceRequest.c"]
            )
        ),
    ],
) -> dict[str, Any]:
    """Readable with ``system/Consent.r``, or by the client that recorded the consent."""
    async with services.engine.connect() as conn:
        stored = await fhir_store.read(conn, "Consent", consent_id)
    may_read = stored is not None and (
        principal.scopes.permits("Consent", "r") or stored.client_id == principal.client_id
    )
    if stored is None or not may_read:
        raise NotFound(f"Consent/{consent_id} is not known.")
    summary = summarize(stored.body, now=services.clock())
    return {
        "consent_id": f"Consent/{consent_id}",
        "status": stored.body.get("status"),
        "summary": " ".join([summary.headline, *summary.details, summary.withdraw]).strip(),
        **summary.to_dict(),
    }
