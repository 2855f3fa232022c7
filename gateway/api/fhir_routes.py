"""One route per served type and interaction (read, search by GET and by POST).

Each path is named in the OpenAPI document for what it is (``/fhir/Task``,
``/fhir/Task/_search``, ``/fhir/Task/{task_id}``), beside the write routes other
modules serve at the same paths, so a client generated from the document finds
every method a path takes. The id parameter is named as the write routes name it.
"""

# No ``from __future__ import annotations``: the endpoints below are built per type,
# and FastAPI must see their annotations (with the per-type Path alias) as objects.

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from gateway.api.deps import get_services
from gateway.api.fhir_openapi import (
    POST_SEARCH_RESPONSES,
    READ_RESPONSES,
    SEARCH_FORM,
    SEARCH_RESPONSES,
)
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.json import FhirJSONResponse
from gateway.services import Services

ID_NAMES = {"Task": "task_id", "Consent": "consent_id"}
"""The id parameter's name where another module also serves ``/fhir/{Type}/{id}``."""


@dataclass(frozen=True)
class FhirHandlers:
    read: Callable[[str, str, Request, Services, Principal], Awaitable[Response]]
    search: Callable[[str, Request, Services, Principal], Awaitable[dict[str, Any]]]
    search_post: Callable[[str, Request, Services, Principal], Awaitable[dict[str, Any]]]


def add_type_routes(
    router: APIRouter, rtype: str, handlers: FhirHandlers, token: Authenticator
) -> None:
    id_name = ID_NAMES.get(rtype, "resource_id")
    services_dep = Annotated[Services, Depends(get_services)]
    principal_dep = Annotated[Principal, Depends(token)]

    async def read(
        request: Request,
        services: services_dep,
        principal: principal_dep,
        resource_id: Annotated[str, Path(alias=id_name)],
    ) -> Response:
        return await handlers.read(rtype, resource_id, request, services, principal)

    async def search(
        request: Request,
        services: services_dep,
        principal: principal_dep,
    ) -> dict[str, Any]:
        return await handlers.search(rtype, request, services, principal)

    async def search_post(
        request: Request,
        services: services_dep,
        principal: principal_dep,
    ) -> dict[str, Any]:
        return await handlers.search_post(rtype, request, services, principal)

    router.add_api_route(
        f"/{rtype}",
        search,
        methods=["GET"],
        response_class=FhirJSONResponse,
        responses=SEARCH_RESPONSES,
        operation_id=f"search_{rtype}",
        summary=f"Search {rtype}",
        description="Search what the caller may see (R4 search.html); a searchset Bundle.",
    )
    router.add_api_route(
        f"/{rtype}/_search",
        search_post,
        methods=["POST"],
        response_class=FhirJSONResponse,
        responses=POST_SEARCH_RESPONSES,
        openapi_extra=SEARCH_FORM,
        operation_id=f"search_{rtype}_by_post",
        summary=f"Search {rtype} by POST",
        description="The same parameters as GET, form-encoded in the body (R4 http.html#search).",
    )
    router.add_api_route(
        f"/{rtype}/{{{id_name}}}",
        read,
        methods=["GET"],
        response_class=FhirJSONResponse,
        responses=READ_RESPONSES,
        operation_id=f"read_{rtype}",
        summary=f"Read {rtype}",
        description="ETag and Last-Modified; If-None-Match with the current ETag: 304.",
    )
