"""All console routes under ``/console/``, kept out of the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse

from gateway.console import (
    routes_auth,
    routes_crisis,
    routes_inbox,
    routes_oidc,
    routes_ops,
    routes_people,
)
from gateway.console.web import ConsoleRoute, Refused

STATIC = Path(__file__).with_name("static")
MEDIA_TYPES = {"console.css": "text/css", "console.js": "text/javascript"}

static_router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@static_router.get("/static/{name}")
async def static(name: str) -> Response:
    """The console's own stylesheet and script; nothing else is served from here."""
    if name not in MEDIA_TYPES:
        raise Refused(404, "There is nothing here.")
    return Response((STATIC / name).read_bytes(), media_type=MEDIA_TYPES[name])


fallback_router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@fallback_router.get("/console")
async def bare() -> Response:
    return RedirectResponse("/console/", status_code=303)


@fallback_router.api_route("/console/{rest:path}", methods=["GET", "POST"])
async def nothing_here(rest: str) -> Response:
    """Any other console address: a page saying so, with the same security headers."""
    raise Refused(404, "There is nothing here.")


def build_console_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for part in (static_router, routes_auth.router, routes_crisis.router, routes_inbox.router,
                 routes_ops.router, routes_people.router, routes_oidc.router, fallback_router):
        router.include_router(part)
    return router
