"""Delivery under faults: a fault-injecting HTTP proxy in front of the real EHR
(sekmet-fhir) answers 500, 503 with Retry-After, 429, stalls past the timeout, answers
slowly, or rejects one poison referral with 400; a closed port stands for a refused
connection. Every referral ends delivered exactly once or dead-lettered with its
reason, and a poison referral never blocks the ones behind it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from harness import Harness, running_gateway
from sekmet import Ehr, free_port, identifier_query, routed_to_ehr, unique_triage
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from connectors.fhir import FhirConnector
from connectors.outbound import OutboundPolicy, make_client
from gateway.store.tables import deliveries, delivery_attempts

pytestmark = pytest.mark.integration

CLIENT_TIMEOUT = httpx.Timeout(connect=1.0, read=1.5, write=1.0, pool=1.0)
TOTAL_TIMEOUT = 2.5


@dataclass
class Fault:
    status: int | None = None
    """Answer this status instead of forwarding."""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering."""
    forward_first: bool = False
    """Forward to the EHR, then delay: the EHR acted but the answer comes too late."""


@dataclass
class FaultProxy:
    """Forwards to ``upstream``; the next request takes the next scripted fault, and a
    request whose body contains ``poison`` is answered 400 with an OperationOutcome."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    poison: bytes | None = None
    seen: list[str] = field(default_factory=list)
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        body = await request.body()
        self.seen.append(f"{request.method} {request.url.path}")
        response = await self._answer(request, body)
        await response(scope, receive, send)

    async def _answer(self, request: Request, body: bytes) -> Response:
        fault = self.faults.pop(0) if self.faults and request.method == "POST" else Fault()
        if self.poison is not None and self.poison in body:
            outcome = {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "invalid", "diagnostics": "poison pill"}],
            }
            return Response(orjson.dumps(outcome), 400, media_type="application/fhir+json")
        if fault.status is not None:
            await asyncio.sleep(fault.delay)
            return Response(b"", fault.status, headers=fault.headers)
        if not fault.forward_first:
            await asyncio.sleep(fault.delay)
        forwarded = await self._forward(request, body)
        if fault.forward_first:
            await asyncio.sleep(fault.delay)
        return forwarded

    async def _forward(self, request: Request, body: bytes) -> Response:
        upstream = await self.client.request(
            request.method,
            self.upstream + request.url.path,
            params=request.query_params,
            content=body,
            headers={k: v for k, v in request.headers.items() if k in {"content-type", "accept"}},
        )
        return Response(
            upstream.content,
            upstream.status_code,
            media_type=upstream.headers.get("content-type"),
        )


@contextlib.asynccontextmanager
async def fault_proxy(ehr: Ehr) -> AsyncIterator[tuple[FaultProxy, str]]:
    proxy = FaultProxy(ehr.root_url)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(proxy, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield proxy, f"http://127.0.0.1:{port}/fhir"
    finally:
        server.should_exit = True
        await task
        await proxy.client.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@contextlib.asynccontextmanager
async def gateway_via(tmp_path: Path, base_url: str, clock: Clock) -> AsyncIterator[Harness]:
    destination = {
        "name": "county-ehr", "type": "fhir", "base_url": base_url, "allow_private_network": True,
    }
    async with running_gateway(tmp_path, config=routed_to_ehr(destination), clock=clock) as h:
        connectors = h.gateway.worker.connectors
        await connectors["county-ehr"].aclose()
        connectors["county-ehr"] = FhirConnector(
            base_url,
            make_client(OutboundPolicy(True), timeout=CLIENT_TIMEOUT, total_timeout=TOTAL_TIMEOUT),
        )
        yield h


async def submit(h: Harness, name: str = "minimal-patient") -> tuple[str, dict[str, Any]]:
    body = unique_triage(name)
    response = await h.submit(body)
    assert response.status_code == 202, response.text
    return str(response.json()["referral_id"]), body


async def delivery_of(h: Harness, referral_id: str) -> Any:
    async with h.gateway.engine.connect() as conn:
        return (
            await conn.execute(select(deliveries).where(deliveries.c.referral_id == referral_id))
        ).one()


async def outcomes(h: Harness, delivery_id: str) -> list[tuple[str, str]]:
    async with h.gateway.engine.connect() as conn:
        rows = await conn.execute(
            select(delivery_attempts.c.outcome, delivery_attempts.c.detail)
            .where(delivery_attempts.c.delivery_id == delivery_id)
            .order_by(delivery_attempts.c.attempt)
        )
        return [(r.outcome, r.detail or "") for r in rows]


def assert_once_on_ehr(ehr: Ehr, body: dict[str, Any]) -> None:
    identifier = identifier_query(body["patient"]["identifiers"][0])
    (patient,) = ehr.search("Patient", identifier=identifier)
    assert len(ehr.search("ServiceRequest", patient=f"Patient/{patient['id']}")) == 1
    assert len(ehr.search("Task", patient=f"Patient/{patient['id']}")) == 1


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(status=500), "answered 500"),
        (Fault(status=503, headers={"Retry-After": "120"}), "answered 503"),
        (Fault(status=429, headers={"Retry-After": "30"}), "answered 429"),
        (Fault(status=408), "answered 408"),
        (Fault(delay=TOTAL_TIMEOUT + 0.5, forward_first=True), "timed out"),
    ],
    ids=["500", "503-retry-after", "429", "408", "timeout-after-the-ehr-acted"],
)
async def test_transient_fault_is_retried_and_lands_once(
    tmp_path: Path, ehr: Ehr, fault: Fault, expected: str
) -> None:
    clock = Clock()
    async with fault_proxy(ehr) as (proxy, base_url), gateway_via(tmp_path, base_url, clock) as h:
        proxy.faults = [fault]
        referral_id, body = await submit(h)
        await h.deliver_all()
        first = await delivery_of(h, referral_id)
        assert first.status == "pending", first
        assert expected in (first.last_error or "")
        retry_after = float(fault.headers.get("Retry-After", 0))
        assert first.next_attempt_at >= clock.now + timedelta(seconds=retry_after)
        assert await h.deliver_all() == 0  # not due yet
        clock.advance(max(retry_after, 300) + 1)
        assert await h.deliver_all() == 1
        done = await delivery_of(h, referral_id)
        assert done.status == "delivered"
        assert [o for o, _ in await outcomes(h, done.id)] == ["transient", "delivered"]
    assert_once_on_ehr(ehr, body)


async def test_slow_answers_within_the_timeout_just_land(tmp_path: Path, ehr: Ehr) -> None:
    clock = Clock()
    async with fault_proxy(ehr) as (proxy, base_url), gateway_via(tmp_path, base_url, clock) as h:
        proxy.faults = [Fault(delay=0.3), Fault(delay=0.3)]
        submitted = [await submit(h) for _ in range(2)]
        assert await h.deliver_all() == 2
        for referral_id, body in submitted:
            assert (await delivery_of(h, referral_id)).status == "delivered"
            assert_once_on_ehr(ehr, body)


async def test_refused_connection_is_transient(tmp_path: Path) -> None:
    clock = Clock()
    closed = f"http://127.0.0.1:{free_port()}/fhir"
    async with gateway_via(tmp_path, closed, clock) as h:
        referral_id, _ = await submit(h)
        await h.deliver_all()
        delivery = await delivery_of(h, referral_id)
    assert delivery.status == "pending"
    assert "unreachable" in (delivery.last_error or "")


async def test_poison_referral_is_dead_lettered_and_does_not_block_the_rest(
    tmp_path: Path, ehr: Ehr
) -> None:
    clock = Clock()
    async with fault_proxy(ehr) as (proxy, base_url), gateway_via(tmp_path, base_url, clock) as h:
        poison_id, poison_body = await submit(h)
        proxy.poison = poison_body["patient"]["identifiers"][0]["value"].encode()
        healthy = [await submit(h) for _ in range(3)]
        assert await h.deliver_all() == 4
        dead = await delivery_of(h, poison_id)
        assert dead.status == "dead"
        assert "answered 400" in (dead.last_error or "")
        assert "poison pill" in (dead.last_error or "")  # the OperationOutcome is the reason
        for referral_id, body in healthy:
            assert (await delivery_of(h, referral_id)).status == "delivered"
            assert_once_on_ehr(ehr, body)
        letters = (await h.get("/operations/dead-letters", client_id="operator")).json()
        assert [d["delivery_id"] for d in letters["dead_letters"]] == [dead.id]
