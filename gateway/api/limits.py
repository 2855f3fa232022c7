"""Overload answers 503 at once instead of queueing into a long tail.

A pure ASGI middleware counting requests in flight; beyond ``limit`` the request
gets a 503 OperationOutcome with ``Retry-After: 1``. Health probes are exempt.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

_EXEMPT = {"/healthz", "/readyz", "/metrics"}
_BODY = orjson.dumps(
    {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "transient",
                "diagnostics": "The gateway is busy; retry in a moment.",
            }
        ],
    }
)


class ConcurrencyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/fhir+json"),
                        (b"retry-after", b"1"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _BODY})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
