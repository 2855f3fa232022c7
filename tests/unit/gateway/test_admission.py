"""Intake's admission queue: overload shed at once with 503 + Retry-After, crisis first in."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import running_gateway, triage
from sqlalchemy import select
from starlette.types import Receive, Scope, Send

from gateway.api.admission import IntakeAdmission
from gateway.store.tables import referrals

ROUTINE = {"risk": {"level": "low"}, "assessments": [{"instrument": "phq-9",
           "answers": [1, 1, 1, 1, 1, 1, 1, 1, 0]}]}
URGENT = {"risk": {"level": "imminent"}, "assessments": []}


class HeldApp:
    """An inner app that keeps every request in flight until released, echoing its body."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered += 1
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.bodies.append(b"".join(chunks))
        await self.release.wait()
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")


async def _fill(client: httpx.AsyncClient, inner: HeldApp, count: int, body: dict[str, Any]
                ) -> list[asyncio.Task[httpx.Response]]:
    tasks = [asyncio.create_task(client.post("/triage-results", json=body)) for _ in range(count)]
    while inner.entered < count:
        await asyncio.sleep(0.001)
    return tasks


def _shed_counter() -> tuple[list[str], Any]:
    seen: list[str] = []
    return seen, seen.append


async def test_routine_beyond_its_share_is_shed_with_retry_after_and_outcome() -> None:
    inner = HeldApp()
    seen, on_shed = _shed_counter()
    app = IntakeAdmission(inner, capacity=4, crisis_reserve=1, max_body_bytes=10_000,
                          on_shed=on_shed)
    async with _client(app) as client:
        held = await _fill(client, inner, 3, ROUTINE)
        refused = await client.post("/triage-results", json=ROUTINE)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"] == "application/fhir+json"
        outcome = refused.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "throttled"
        assert seen == ["routine"]
        assert inner.entered == 3  # the refused one never reached intake
        inner.release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [202] * 3


async def test_urgent_takes_the_reserve_that_routine_may_not() -> None:
    inner = HeldApp()
    app = IntakeAdmission(inner, capacity=4, crisis_reserve=1, max_body_bytes=10_000)
    async with _client(app) as client:
        held = await _fill(client, inner, 3, ROUTINE)
        crisis = asyncio.create_task(client.post("/triage-results", json=URGENT))
        while inner.entered < 4:
            await asyncio.sleep(0.001)
        # Every place, the reserve included, is taken: even an urgent one is now shed.
        assert (await client.post("/triage-results", json=URGENT)).status_code == 503
        inner.release.set()
        assert (await crisis).status_code == 202
        await asyncio.gather(*held)
    assert json.loads(inner.bodies[3]) == URGENT  # the body read for the look is handed on


async def test_a_gzip_body_is_looked_into_and_handed_on_unchanged() -> None:
    inner = HeldApp()
    app = IntakeAdmission(inner, capacity=2, crisis_reserve=1, max_body_bytes=10_000)
    compressed = gzip.compress(json.dumps(URGENT).encode())
    async with _client(app) as client:
        held = await _fill(client, inner, 1, ROUTINE)
        crisis = asyncio.create_task(client.post(
            "/triage-results", content=compressed,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}))
        while inner.entered < 2:
            await asyncio.sleep(0.001)
        inner.release.set()
        assert (await crisis).status_code == 202
        await asyncio.gather(*held)
    assert inner.bodies[1] == compressed


async def test_places_are_given_back_when_requests_finish() -> None:
    inner = HeldApp()
    inner.release.set()
    app = IntakeAdmission(inner, capacity=2, crisis_reserve=1, max_body_bytes=10_000)
    async with _client(app) as client:
        for _ in range(5):
            assert (await client.post("/triage-results", json=ROUTINE)).status_code == 202
    assert app.in_flight == 0


async def test_other_routes_and_methods_pass_untouched() -> None:
    inner = HeldApp()
    app = IntakeAdmission(inner, capacity=2, crisis_reserve=1, max_body_bytes=10_000)
    async with _client(app) as client:
        held = await _fill(client, inner, 1, ROUTINE)
        other = asyncio.create_task(client.post("/fhir/Consent", json=ROUTINE))
        while inner.entered < 2:
            await asyncio.sleep(0.001)
        inner.release.set()
        assert (await other).status_code == 202
        await asyncio.gather(*held)


def test_the_reserve_must_leave_room_for_routine() -> None:
    with pytest.raises(ValueError, match="crisis_reserve"):
        IntakeAdmission(HeldApp(), capacity=2, crisis_reserve=2, max_body_bytes=10)


async def test_when_every_place_is_taken_urgent_waits_and_goes_before_routine() -> None:
    inner = HeldApp()
    app = IntakeAdmission(inner, capacity=2, crisis_reserve=1, max_body_bytes=10_000,
                          urgent_wait_seconds=5)
    async with _client(app) as client:
        held = await _fill(client, inner, 1, ROUTINE)
        first_crisis = await _fill_more(client, inner, URGENT, expect=2)
        waiting = asyncio.create_task(client.post("/triage-results", json=URGENT))
        while not app._urgent_waiting:
            await asyncio.sleep(0.001)
        # A routine one arriving now is refused: the waiting urgent one is first in line.
        assert (await client.post("/triage-results", json=ROUTINE)).status_code == 503
        inner.release.set()
        assert (await waiting).status_code == 202
        assert (await first_crisis).status_code == 202
        await asyncio.gather(*held)
    assert app.in_flight == 0
    assert inner.entered == 3


async def test_an_urgent_one_that_waits_too_long_is_shed_and_the_count_stays_right() -> None:
    inner = HeldApp()
    seen, on_shed = _shed_counter()
    app = IntakeAdmission(inner, capacity=2, crisis_reserve=1, max_body_bytes=10_000,
                          urgent_wait_seconds=0.05, on_shed=on_shed)
    async with _client(app) as client:
        held = await _fill(client, inner, 1, ROUTINE)
        first_crisis = await _fill_more(client, inner, URGENT, expect=2)
        late = await client.post("/triage-results", json=URGENT)
        assert late.status_code == 503
        assert seen == ["crisis"]
        inner.release.set()
        await first_crisis
        await asyncio.gather(*held)
    assert app.in_flight == 0


async def _fill_more(client: httpx.AsyncClient, inner: HeldApp, body: dict[str, Any],
                     *, expect: int) -> asyncio.Task[httpx.Response]:
    task = asyncio.create_task(client.post("/triage-results", json=body))
    while inner.entered < expect:
        await asyncio.sleep(0.001)
    return task


async def test_past_capacity_exactly_the_accepted_are_stored_and_every_503_says_when(
    tmp_path: Path,
) -> None:
    settings = {"intake_capacity": 2, "intake_crisis_reserve": 1}
    async with running_gateway(tmp_path, settings=settings) as h:
        headers = {**await h.auth(), "Content-Type": "application/json"}

        async def one(n: int) -> httpx.Response:
            body = triage(triage_id=f"burst-{n}")
            body["risk"]["signals"] = []
            body["assessments"][0]["answers"][8] = 0
            return await h.client.post("/triage-results", content=json.dumps(body),
                                       headers=headers)

        answers = await asyncio.gather(*(one(n) for n in range(30)))
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {202, 503} and 503 in statuses and 202 in statuses
        assert all(a.headers.get("retry-after") for a in answers if a.status_code == 503)
        async with h.gateway.engine.connect() as conn:
            stored = {row[0] for row in await conn.execute(select(referrals.c.triage_id))}
        assert stored == {f"burst-{n}" for n, s in enumerate(statuses) if s == 202}
        assert (await h.client.get("/healthz")).status_code == 200
        metrics = (await h.client.get("/metrics")).text
        assert f'gateway_intake_shed_total{{priority="routine"}} {statuses.count(503)}.0' in metrics
