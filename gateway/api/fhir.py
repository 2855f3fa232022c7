"""The FHIR R4 surface (``/fhir``): metadata, read and search of what the gateway holds.

This is also the built-in referral inbox a clinic without an EHR polls
(``GET /fhir/Task?owner=Organization/<destination>&_lastUpdated=gt...``).
A client sees the resources its own submissions produced; a client acting for a
destination (its ``clients`` list) sees that destination's delivered Tasks and the
ServiceRequest and Patient they point to (``gateway.referral_loop.recipients``); an operator
(``system/*.rs``) sees all.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request

from gateway.api.deps import get_services
from gateway.audit.fhir_view import read_audit_event, search_audit_events
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.capability import capability_statement
from gateway.context import fhir_instant
from gateway.errors import InsufficientScope, NotFound
from gateway.fhir_search import SERVED_TYPES, parse_search
from gateway.json import FhirJSONResponse
from gateway.read_audit import audit_foreign_reads
from gateway.referral_loop.recipients import recipient_may_read, widen_for_recipient
from gateway.services import Services
from gateway.store import fhir_store
from gateway.store.fhir_store import StoredResource

router = APIRouter(prefix="/fhir", tags=["fhir"])
_any_token = Authenticator(
    any_of=["system/*.r", "system/*.s", *(f"system/{t}.{x}" for t in SERVED_TYPES for x in "rs")]
)


@router.get("/metadata", response_class=FhirJSONResponse)
async def metadata(services: Annotated[Services, Depends(get_services)]) -> dict[str, Any]:
    return capability_statement(
        services.settings.public_url, services.version, services.started_at.date().isoformat()
    )


def _require(principal: Principal, resource_type: str, letter: str) -> None:
    if not principal.scopes.permits(resource_type, letter):
        raise InsufficientScope(f"this request needs scope system/{resource_type}.{letter}")


def _check_type(resource_type: str) -> None:
    if resource_type not in SERVED_TYPES:
        raise NotFound(f"The gateway does not serve {resource_type} resources.")


def visible_to(resource: StoredResource, principal: Principal) -> bool:
    if principal.is_operator:
        return True
    return resource.published and resource.client_id == principal.client_id


@router.get("/{resource_type}/{resource_id}", response_class=FhirJSONResponse)
async def read_resource(
    resource_type: str,
    resource_id: str,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_any_token)],
) -> FhirJSONResponse:
    _check_type(resource_type)
    _require(principal, resource_type, "r")
    if resource_type == "AuditEvent":
        async with services.engine.connect() as conn:
            event = await read_audit_event(
                conn, resource_id, client_id=None if principal.is_operator else principal.client_id
            )
        if event is None:
            raise NotFound(f"AuditEvent/{resource_id} is not known.")
        return FhirJSONResponse(event.body, headers={"ETag": 'W/"1"'})
    async with services.engine.connect() as conn:
        stored = await fhir_store.read(conn, resource_type, resource_id)
        allowed = stored is not None and (
            visible_to(stored, principal)
            or await recipient_may_read(conn, services.config, stored, principal.client_id)
        )
    if stored is None or not allowed:
        raise NotFound(f"{resource_type}/{resource_id} is not known.")
    await audit_foreign_reads(
        services.engine,
        services.audit,
        reader=principal.client_id,
        is_operator=principal.is_operator,
        resources=[stored],
        now=services.clock(),
    )
    return FhirJSONResponse(stored.body, headers={"ETag": f'W/"{stored.version_id}"'})


@router.get("/{resource_type}", response_class=FhirJSONResponse)
async def search_resources(
    resource_type: str,
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_any_token)],
) -> dict[str, Any]:
    _check_type(resource_type)
    _require(principal, resource_type, "s")
    query, applied = parse_search(
        resource_type,
        request.query_params.multi_items(),
        client_id=None if principal.is_operator else principal.client_id,
    )
    if principal.is_operator:
        query = type(query)(**{**query.__dict__, "only_published": False})
    query = widen_for_recipient(query, services.config, principal.client_id)
    async with services.engine.connect() as conn:
        if resource_type == "AuditEvent":
            total, found = await search_audit_events(conn, query)
        else:
            total, found = await fhir_store.search(conn, query)
    if resource_type != "AuditEvent":
        await audit_foreign_reads(
            services.engine,
            services.audit,
            reader=principal.client_id,
            is_operator=principal.is_operator,
            resources=found,
            now=services.clock(),
        )
    base = f"{services.settings.public_url}/fhir/{resource_type}"
    links = [{"relation": "self", "url": f"{base}?{urlencode(applied)}"}]
    if query.offset + len(found) < total:
        following = [(k, v) for k, v in applied if k != "_offset"]
        following.append(("_offset", str(query.offset + query.count)))
        links.append({"relation": "next", "url": f"{base}?{urlencode(following)}"})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": fhir_instant(services.clock(), "auto"),
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{services.settings.public_url}/fhir/{r.resource_type}/{r.id}",
                "resource": r.body,
                "search": {"mode": "match"},
            }
            for r in found
        ],
    }
