"""Overload answers 503 at once instead of queueing into a long tail.

A pure ASGI middleware counting requests in flight; beyond ``limit`` the request
gets a 503 OperationOutcome with ``Retry-After: 1``. Health probes are exempt, and so
is intake, which has its own admission queue with a crisis reserve (``admission``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.admission import INTAKE_PATH, send_shed

_EXEMPT = {"/healthz", "/readyz", "/metrics", INTAKE_PATH}


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
            await send_shed(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
