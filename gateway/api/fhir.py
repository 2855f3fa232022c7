"""The FHIR R4 surface (``/fhir``): metadata, read and search of what the gateway holds.

http://hl7.org/fhir/R4/http.html. This is also the built-in referral inbox a clinic
without an EHR polls (``GET /fhir/Task?_lastUpdated=gt...``). What a caller may see
is ``gateway.store.fhir_search_store.Visibility``: its own submissions; as a
recipient (a destination's ``clients``), that destination's delivered Tasks and the
ServiceRequest and Patient they point to; an operator (``system/*.rs``), all.
Search parameters only narrow it (``gateway.fhir_search``). Reads carry ``ETag``
and ``Last-Modified`` and answer ``If-None-Match`` with 304 (http.html#cread).
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from gateway.api.deps import get_services
from gateway.api.fhir_form import read_search_form
from gateway.api.fhir_openapi import METADATA_RESPONSES
from gateway.api.fhir_paging import searchset
from gateway.api.fhir_routes import FhirHandlers, add_type_routes
from gateway.audit.fhir_view import read_audit_event, search_audit_events
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.capability import capability_statement
from gateway.errors import InsufficientScope, NotFound, PayloadTooLarge
from gateway.fhir_search import INCLUDES, SERVED_TYPES, Criteria, parse_search, strict_requested
from gateway.json import FhirJSONResponse
from gateway.read_audit import audit_foreign_reads
from gateway.referral_loop.recipients import owner_references
from gateway.services import Services
from gateway.store import fhir_search_store
from gateway.store.fhir_search_store import Visibility
from gateway.store.fhir_store import StoredResource, etag_version

router = APIRouter(prefix="/fhir", tags=["fhir"])
_any_token = Authenticator(
    any_of=["system/*.r", "system/*.s", *(f"system/{t}.{x}" for t in SERVED_TYPES for x in "rs")]
)
MAX_FORM_BYTES = 64 * 1024


@router.get(
    "/metadata",
    response_class=FhirJSONResponse,
    responses=METADATA_RESPONSES,
)
async def metadata(services: Annotated[Services, Depends(get_services)]) -> dict[str, Any]:
    """The CapabilityStatement (no token needed)."""
    return capability_statement(
        services.settings.public_url, services.version, services.started_at.date().isoformat()
    )


def _require(principal: Principal, resource_type: str, letter: str) -> None:
    if not principal.scopes.permits(resource_type, letter):
        raise InsufficientScope(f"this request needs scope system/{resource_type}.{letter}")


def visibility(services: Services, principal: Principal) -> Visibility:
    return Visibility(
        operator=principal.is_operator,
        client_id=principal.client_id,
        owners=tuple(owner_references(services.config, principal.client_id)),
    )


def _etag(resource: StoredResource) -> str:
    return f'W/"{resource.version_id}"'


def _not_modified(request: Request, resource: StoredResource) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    tags = [t.strip() for t in wanted.split(",")]
    return "*" in tags or any(etag_version(t) == resource.version_id for t in tags)


async def read_resource(
    resource_type: str,
    resource_id: str,
    request: Request,
    services: Services,
    principal: Principal,
) -> Response:
    """Read one resource the caller may see; 304 when ``If-None-Match`` names its version."""
    _require(principal, resource_type, "r")
    async with services.engine.connect() as conn:
        if resource_type == "AuditEvent":
            stored = await read_audit_event(
                conn, resource_id, client_id=None if principal.is_operator else principal.client_id
            )
        else:
            stored = await fhir_search_store.read_visible(
                conn, resource_type, resource_id, visibility(services, principal)
            )
    if stored is None:
        raise NotFound(f"{resource_type}/{resource_id} is not known.")
    headers = {
        "ETag": _etag(stored),
        "Last-Modified": format_datetime(stored.last_updated, usegmt=True),
    }
    if _not_modified(request, stored):
        return Response(status_code=304, headers=headers)
    if resource_type != "AuditEvent":
        await _audit_reads(services, principal, [stored])
    return FhirJSONResponse(stored.body, headers=headers)


async def _audit_reads(
    services: Services, principal: Principal, resources: list[StoredResource]
) -> None:
    await audit_foreign_reads(
        services.engine,
        services.audit,
        reader=principal.client_id,
        is_operator=principal.is_operator,
        resources=resources,
        now=services.clock(),
    )


async def _included(
    conn: Any, criteria: Criteria, found: list[StoredResource], who: Visibility
) -> list[StoredResource]:
    """What ``_include`` adds: the resources the matches point to that ``who`` may see."""
    wanted: dict[str, set[str]] = {}
    for include in criteria.includes:
        element, target = INCLUDES[criteria.resource_type][include]
        for resource in found:
            reference = (resource.body.get(element) or {}).get("reference", "")
            if reference.startswith(f"{target}/"):
                wanted.setdefault(target, set()).add(reference.split("/", 1)[1])
    included: list[StoredResource] = []
    for target, ids in sorted(wanted.items()):
        lookup = Criteria(resource_type=target, ids=(frozenset(ids),), count=len(ids))
        included.extend((await fhir_search_store.search(conn, lookup, who))[1])
    return included


async def _search(
    resource_type: str,
    params: list[tuple[str, str]],
    request: Request,
    services: Services,
    principal: Principal,
) -> dict[str, Any]:
    _require(principal, resource_type, "s")
    parsed = parse_search(
        resource_type, params, strict=strict_requested(request.headers.get("prefer"))
    )
    criteria, who = parsed.criteria, visibility(services, principal)
    async with services.engine.connect() as conn:
        if resource_type == "AuditEvent":
            client = None if principal.is_operator else principal.client_id
            total, found = await search_audit_events(conn, criteria, client_id=client)
            included: list[StoredResource] = []
        else:
            total, found = await fhir_search_store.search(conn, criteria, who)
            included = await _included(conn, criteria, found, who)
    if resource_type != "AuditEvent":
        await _audit_reads(services, principal, found + included)
    return searchset(
        services.settings.public_url,
        criteria,
        parsed.applied,
        total=total,
        found=found,
        included=included,
        timestamp=services.clock(),
    )


async def search_resources(
    resource_type: str, request: Request, services: Services, principal: Principal
) -> dict[str, Any]:
    """Search what the caller may see (R4 search.html); a searchset Bundle."""
    params = request.query_params.multi_items()
    return await _search(resource_type, params, request, services, principal)


async def search_by_post(
    resource_type: str, request: Request, services: Services, principal: Principal
) -> dict[str, Any]:
    """Search by POST, parameters form-encoded in the body (R4 http.html#search)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PayloadTooLarge("the search form is too large")
    form = read_search_form(request.headers.get("content-type"), body)
    params = request.query_params.multi_items() + form
    return await _search(resource_type, params, request, services, principal)


for _type in SERVED_TYPES:
    add_type_routes(
        router, _type, FhirHandlers(read_resource, search_resources, search_by_post), _any_token
    )
