"""A request the server stops before it was answered gets a 503 OperationOutcome.

When ``gateway serve`` is stopped, uvicorn waits ``timeout_graceful_shutdown`` for
requests in flight and then cancels them; one cancelled before its response began
(a client still uploading, say) would get uvicorn's plain-text 500. This pure ASGI
middleware answers it instead with 503, ``Retry-After`` and ``Connection: close``
(RFC 9110 §15.6.4), then lets the cancellation go on.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BODY = orjson.dumps(
    {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "transient",
                "diagnostics": "The gateway is shutting down; retry in a moment.",
            }
        ],
    }
)


class AnswerOnShutdown:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            if not started:
                # Shielded: a second cancellation must not cut the answer between its
                # head and its body (the client would get a 503 with an empty body).
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(_answer_503(send))
            raise


async def _answer_503(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/fhir+json"),
                (b"retry-after", b"5"),
                (b"connection", b"close"),
                (b"content-length", str(len(_BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _BODY})
