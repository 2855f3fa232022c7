"""A bounded admission queue in front of intake: overload is shed at once, crisis first in.

``POST /triage-results`` may have at most ``capacity`` submissions in flight (being
validated, or waiting in the group-commit queue for their transaction). Routine
submissions may hold ``capacity - crisis_reserve`` of those places; the last
``crisis_reserve`` are kept for submissions that may need the crisis route
(``gateway.intake.urgency``). When even those are taken, an urgent submission waits
(up to ``urgent_wait_seconds``, at most ``crisis_reserve`` of them at once) for the next
place that frees, and gets it before any routine one. A routine submission that finds
no place is answered at once with 503, ``Retry-After`` and an OperationOutcome
(``throttled``), before anything is read from the database, so an accepted request's
latency stays bounded by the queue's length and a refused one costs almost nothing.
Sizing: docs/performance.md.

Only when routine places are all taken is the body read (and a gzip body inflated,
bounded) to tell urgent from routine; below that a submission goes straight through
and intake reads its body as usual. The read body is handed on unchanged.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.intake.urgency import is_urgent

INTAKE_PATH = "/triage-results"

SHED_BODY = orjson.dumps(
    {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "throttled",
                "diagnostics": "The gateway is at capacity; retry after the time given.",
            }
        ],
    }
)


async def send_shed(send: Send, retry_after_seconds: int = 1) -> None:
    """Answer 503 with Retry-After and an OperationOutcome (RFC 9110 §15.6.4, §10.2.3)."""
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/fhir+json"),
                (b"retry-after", str(retry_after_seconds).encode()),
                (b"content-length", str(len(SHED_BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": SHED_BODY})


class IntakeAdmission:
    """ASGI middleware holding intake's admission queue (one per process)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        capacity: int,
        crisis_reserve: int,
        max_body_bytes: int,
        on_shed: Callable[[str], None] | None = None,
        shed_delay_seconds: float = 0.0,
        urgent_wait_seconds: float = 1.0,
    ) -> None:
        if not 0 <= crisis_reserve < capacity:
            raise ValueError("crisis_reserve must be at least 0 and below capacity")
        self.app = app
        self.capacity = capacity
        self.routine_capacity = capacity - crisis_reserve
        self.max_body_bytes = max_body_bytes
        self.on_shed = on_shed or (lambda _priority: None)
        self.shed_delay_seconds = shed_delay_seconds
        self.urgent_wait_seconds = urgent_wait_seconds
        self.max_waiting = max(1, crisis_reserve)
        self.in_flight = 0
        self._urgent_waiting: deque[asyncio.Future[None]] = deque()

    async def _shed(self, send: Send, priority: str) -> None:
        self.on_shed(priority)
        if self.shed_delay_seconds:
            await asyncio.sleep(self.shed_delay_seconds)
        await send_shed(send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != INTAKE_PATH
            or scope.get("method") != "POST"
        ):
            await self.app(scope, receive, send)
            return
        if self.in_flight < self.routine_capacity and not self._urgent_waiting:
            await self._admitted(scope, receive, send)
            return
        if self.in_flight >= self.capacity and len(self._urgent_waiting) >= self.max_waiting:
            await self._shed(send, "unknown")
            return
        body, replay = await _buffer(receive, self.max_body_bytes)
        if not is_urgent(_peek(body, _encoding(scope), self.max_body_bytes)):
            if self.in_flight < self.routine_capacity and not self._urgent_waiting:
                await self._admitted(scope, replay, send)
            else:
                await self._shed(send, "routine")
            return
        if self.in_flight < self.capacity:
            await self._admitted(scope, replay, send)
        elif len(self._urgent_waiting) < self.max_waiting and await self._wait_for_place():
            await self._admitted(scope, replay, send, counted=True)
        else:
            await self._shed(send, "crisis")

    async def _wait_for_place(self) -> bool:
        """Queue an urgent submission for the next place that frees, ahead of any routine
        one; False when none frees within ``urgent_wait_seconds``."""
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._urgent_waiting.append(place)
        try:
            await asyncio.wait_for(asyncio.shield(place), self.urgent_wait_seconds)
        except TimeoutError:
            if place.done():  # handed a place as the wait ran out: give it back
                self._release()
            return False
        finally:
            if place in self._urgent_waiting:
                self._urgent_waiting.remove(place)
        return True

    async def _admitted(
        self, scope: Scope, receive: Receive, send: Send, *, counted: bool = False
    ) -> None:
        if not counted:
            self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    def _release(self) -> None:
        """Free a place: to the oldest waiting urgent submission if any, else to anyone."""
        while self._urgent_waiting:
            place = self._urgent_waiting.popleft()
            if not place.done():
                place.set_result(None)  # in_flight stays: the place passes on
                return
        self.in_flight -= 1


async def _buffer(receive: Receive, limit: int) -> tuple[bytes, Receive]:
    """Read the body (up to ``limit`` + 1 bytes) and a ``receive`` that replays it."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more and size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return body, replay


def _encoding(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-encoding":
            return bytes(value).decode("latin-1").strip().lower()
    return "identity"


def _peek(body: bytes, encoding: str, limit: int) -> object:
    """The body parsed as JSON for a look, or None when it cannot be read cheaply."""
    try:
        if encoding == "gzip":
            body = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, limit + 1)
        elif encoding not in ("", "identity"):
            return None
        if len(body) > limit:
            return None
        return orjson.loads(body)
    except (zlib.error, orjson.JSONDecodeError):
        return None
