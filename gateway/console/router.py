"""All console routes under ``/console/``, kept out of the OpenAPI document."""

from __future__ import annotations

import io
import math
import wave
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
MEDIA_TYPES = {"console.css": "text/css", "console.js": "text/javascript", "chime.wav": "audio/wav"}


def chime(seconds: float = 0.35, rate: int = 8000, pitch: float = 880.0) -> bytes:
    """The crisis desk's arrival tone: a short sine wave as 8-bit mono WAV."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        frames = int(seconds * rate)
        out.writeframes(bytes(
            int(128 + 60 * math.sin(2 * math.pi * pitch * i / rate) * (1 - i / frames))
            for i in range(frames)
        ))
    return buffer.getvalue()


CHIME = chime()

static_router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@static_router.get("/static/{name}")
async def static(name: str) -> Response:
    """The console's own stylesheet and script; nothing else is served from here."""
    if name not in MEDIA_TYPES:
        raise Refused(404, "There is nothing here.")
    body = CHIME if name == "chime.wav" else (STATIC / name).read_bytes()
    return Response(body, media_type=MEDIA_TYPES[name])


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
