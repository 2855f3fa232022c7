"""Durable delivery on SQLite and PostgreSQL: lanes, dead letters and their replay,
the circuit breaker, and several workers claiming side by side."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import Harness, base_config, running_gateway
from joserfc.jwk import ECKey
from sekmet import Ehr, ehr_destination, free_port, routed_to_ehr, unique_triage
from sqlalchemy import select

from connectors.base import Connector, Delivery, Receipt
from connectors.mock import MockConnector
from gateway.bootstrap import build_gateway
from gateway.delivery.circuit import CircuitBreaker, CircuitState
from gateway.delivery.retry import RetryPolicy
from gateway.settings import Settings
from gateway.store.tables import audit_log, deliveries

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Seconds:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


class Recording(Connector):
    """Keeps the order deliveries were handed over in, across destinations."""

    def __init__(self, log: list[Delivery], inner: Connector | None = None) -> None:
        self.log = log
        self.inner = inner or MockConnector()

    async def deliver(self, delivery: Delivery) -> Receipt:
        self.log.append(delivery)
        return await self.inner.deliver(delivery)


async def statuses(h: Harness) -> dict[str, tuple[str, str, int]]:
    """delivery id -> (destination, status, lane)"""
    async with h.gateway.engine.connect() as conn:
        rows = await conn.execute(select(deliveries))
        return {r.id: (r.destination, r.status, r.lane) for r in rows}


async def test_lanes_crisis_first_then_urgent_then_routine(
    tmp_path: Path, database_url: str
) -> None:
    order: list[Delivery] = []
    async with running_gateway(tmp_path, database_url=database_url) as h:
        for name in ("community-phq2", "self-care", "minimal-patient", "imminent-risk"):
            body = unique_triage(name)
            body["consent"] = {
                "share_with": ["crisis", "community", "ehr"], "purposes": ["TREAT"],
                "expires": "2027-11-27", "accepted_text_version": "consent-text-v3",
            }
            response = await h.submit(body)
            assert response.status_code == 202, response.text
        for name, connector in list(h.gateway.worker.connectors.items()):
            h.gateway.worker.connectors[name] = Recording(order, connector)
        lanes = {i: lane for i, (_, _, lane) in (await statuses(h)).items()}
        await h.deliver_all()
    claimed = [lanes[d.delivery_id] for d in order]
    assert len(claimed) == len(lanes) >= 4
    assert claimed == sorted(claimed), claimed
    assert claimed[0] == 0 and 1 in claimed and 2 in claimed


async def test_dead_letter_after_max_attempts_then_operator_replays_it(
    tmp_path: Path, database_url: str
) -> None:
    clock = Clock()
    failing = MockConnector(transient_failures=3)
    policy = RetryPolicy(max_attempts=3, quick_retries=0, sleep=_no_sleep)
    async with running_gateway(
        tmp_path, database_url=database_url, clock=clock, retry_policy=policy,
    ) as h:
        h.gateway.worker.connectors["inbox"] = failing
        response = await h.submit(unique_triage("minimal-patient"))
        referral_id = response.json()["referral_id"]
        for _ in range(3):
            assert await h.deliver_all() == 1
            clock.advance(10)  # past any backoff (max_attempts=3: at most 4 s)
        (delivery_id, (_, status, _)), = (await statuses(h)).items()
        assert status == "dead"

        forbidden = await h.get("/operations/dead-letters")  # a triage app, not an operator
        assert forbidden.status_code == 403
        listed = (await h.get("/operations/dead-letters", client_id="operator")).json()
        (letter,) = listed["dead_letters"]
        assert letter["delivery_id"] == delivery_id
        assert letter["referral_id"] == referral_id
        assert letter["attempts"] == 3
        assert "scripted transient failure 3" in letter["reason"]
        view = (await h.get(f"/referrals/{referral_id}")).json()
        assert view["status"] == "needs-attention"

        headers = await h.auth("operator")
        replayed = await h.client.post(
            f"/operations/dead-letters/{delivery_id}/replay", headers=headers
        )
        assert replayed.status_code == 200, replayed.text
        again = await h.client.post(
            f"/operations/dead-letters/{delivery_id}/replay", headers=headers
        )
        assert again.status_code == 404  # no longer a dead letter
        async with h.gateway.engine.connect() as conn:
            replays = (
                await conn.execute(
                    select(audit_log.c.entry).where(audit_log.c.event_type == "delivery-replayed")
                )
            ).all()
        assert len(replays) == 1  # the operator's action is in the audit log
        assert b"operator" in replays[0][0]
        assert await h.deliver_all() == 1  # the mock's scripted failures are used up
        assert (await statuses(h))[delivery_id][1] == "delivered"
        assert (await h.get(f"/referrals/{referral_id}")).json()["status"] == "delivered"
    assert failing.delivered_ids() == Counter({delivery_id: 1})


async def test_a_dead_ehr_does_not_slow_the_others(tmp_path: Path, ehr: Ehr) -> None:
    clock = Clock()
    breaker_clock = Seconds()
    dead = ehr_destination(ehr, "dead-ehr", base_url=f"http://127.0.0.1:{free_port()}/fhir")
    async with running_gateway(
        tmp_path, clock=clock, config=routed_to_ehr(dead, ehr_destination(ehr)),
    ) as h:
        h.gateway.worker.breaker = CircuitBreaker(
            clock=breaker_clock, failure_threshold=2, cool_down_seconds=30
        )
        for _ in range(5):
            assert (await h.submit(unique_triage("minimal-patient"))).status_code == 202
        assert await h.deliver_all() == 5 + 2  # every live delivery, 2 tries at the dead EHR
        by_destination: Counter[tuple[str, str]] = Counter(
            (dest, status) for dest, status, _ in (await statuses(h)).values()
        )
        assert by_destination == {("county-ehr", "delivered"): 5, ("dead-ehr", "pending"): 5}
        breaker = h.gateway.worker.breaker
        assert breaker.state("dead-ehr") is CircuitState.OPEN

        clock.advance(3600)  # every retry is due; the circuit is still open
        assert await h.deliver_all() == 0
        breaker_clock.value = 31  # cool-down over: one trial, which fails, opens it again
        assert await h.deliver_all() == 1
        assert breaker.state("dead-ehr") is CircuitState.OPEN


async def test_several_workers_deliver_each_once(tmp_path: Path, database_url: str) -> None:
    """Three workers, each with its own engine and connection pool, drain one outbox
    concurrently: every delivery lands exactly once."""
    async with running_gateway(tmp_path, database_url=database_url) as h:
        for _ in range(12):
            assert (await h.submit(unique_triage("minimal-patient"))).status_code == 202
        settings = h.gateway.settings
        config = h.gateway.config
        expected = set(await statuses(h))
    workers = [_worker(settings, config, f"worker-{n}") for n in range(3)]
    try:
        for gateway, _ in workers:
            await gateway.start()
        await asyncio.gather(*(gateway.worker.drain() for gateway, _ in workers))
        landed = sum((mock.delivered_ids() for _, mock in workers), Counter[str]())
    finally:
        for gateway, _ in workers:
            await gateway.close()
    assert set(landed) == expected
    assert set(landed.values()) == {1}, landed


class SlowMock(MockConnector):
    async def deliver(self, delivery: Delivery) -> Receipt:
        await asyncio.sleep(0.01)
        return await super().deliver(delivery)


def _worker(settings: Settings, config: Any, worker_id: str) -> tuple[Any, SlowMock]:
    mock = SlowMock()
    gateway = build_gateway(
        settings,
        config,
        connectors={d.name: mock for d in config.destinations},
        retry_policy=RetryPolicy(quick_retries=0, sleep=_no_sleep),
        worker_id=worker_id,
    )
    return gateway, mock


async def _no_sleep(_seconds: float) -> None:
    return None


class Broken(Connector):
    async def deliver(self, delivery: Delivery) -> Receipt:
        raise RuntimeError("a bug, not a delivery error")


async def test_a_worker_bug_is_recorded_and_retried_not_stranded(
    tmp_path: Path, database_url: str
) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        h.gateway.worker.connectors["inbox"] = Broken()
        response = await h.submit(unique_triage("minimal-patient"))
        assert await h.deliver_all() == 1
        view = (await h.get(f"/referrals/{response.json()['referral_id']}")).json()
    (delivery,) = view["deliveries"]
    assert delivery["status"] == "pending"
    assert delivery["last_error"] == "the worker failed: RuntimeError"


async def test_a_claim_that_keeps_killing_its_worker_is_dead_lettered(
    tmp_path: Path, database_url: str
) -> None:
    clock = Clock()
    policy = RetryPolicy(max_attempts=2, quick_retries=0, sleep=_no_sleep)
    async with running_gateway(
        tmp_path, database_url=database_url, clock=clock, retry_policy=policy
    ) as h:
        await h.submit(unique_triage("minimal-patient"))
        worker = h.gateway.worker
        for _ in range(2):  # claimed twice; each time the worker "dies" (no outcome)
            assert await worker.claim() is not None
            clock.advance(worker.lease.total_seconds() + 1)
        assert await worker.claim() is None
        ((_, status, _),) = (await statuses(h)).values()
        async with h.gateway.engine.connect() as conn:
            reason = (await conn.execute(select(deliveries.c.last_error))).scalar_one()
    assert status == "dead"
    assert "no outcome after 2 claims" in reason


class Stalling(Connector):
    """Hangs until released, like an EHR that takes its time."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.in_flight = 0

    async def deliver(self, delivery: Delivery) -> Receipt:
        self.in_flight += 1
        self.entered.set()
        await self.release.wait()
        return Receipt(status_code=201, detail="late")


def _inbox_slots(n: int) -> Callable[[dict[str, ECKey]], dict[str, Any]]:
    """The usual config, with the routine inbox taking ``n`` deliveries at once."""

    def build(keys: dict[str, ECKey]) -> dict[str, Any]:
        config = base_config(keys)
        for destination in config["destinations"]:
            if destination["name"] == "inbox":
                destination["max_in_flight"] = n
        return config

    return build


async def test_crisis_never_waits_behind_a_slow_routine_delivery(
    tmp_path: Path, database_url: str
) -> None:
    # One slot for the routine inbox: a second routine delivery waits, crisis does not.
    async with running_gateway(tmp_path, database_url=database_url, config=_inbox_slots(1)) as h:
        stalling = Stalling()
        h.gateway.worker.connectors["inbox"] = stalling
        stop = asyncio.Event()
        await h.gateway.start_worker(stop)  # as `gateway serve` runs it, woken by intake
        try:
            for _ in range(2):  # more slow routine work than the worker has hands
                assert (await h.submit(unique_triage("minimal-patient"))).status_code == 202
            await asyncio.wait_for(stalling.entered.wait(), 5)  # the worker is stuck on one
            crisis = await h.submit(unique_triage("imminent-risk"))
            location = crisis.headers["location"]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 2
            delivered = False
            while not delivered and loop.time() < deadline:
                await asyncio.sleep(0.02)
                view = (await h.get(location)).json()
                delivered = all(d["status"] == "delivered" for d in view["deliveries"])
            assert delivered, view
            assert stalling.in_flight == 1  # the routine ones still wait behind the first
        finally:
            stalling.release.set()
            stop.set()


class Counting(Stalling):
    """Stalls like ``Stalling``, and remembers every delivery it was handed."""

    def __init__(self) -> None:
        super().__init__()
        self.most = 0
        self.seen: list[str] = []

    async def deliver(self, delivery: Delivery) -> Receipt:
        self.seen.append(delivery.delivery_id)
        self.most = max(self.most, self.in_flight + 1)
        try:
            return await super().deliver(delivery)
        finally:
            self.in_flight -= 1


async def _until(condition: Callable[[], bool], seconds: float = 5) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(("slots", "referrals"), [(4, 7), (2, 5)])
async def test_one_destination_takes_several_at_once_up_to_its_bound_each_once(
    tmp_path: Path, database_url: str, slots: int, referrals: int
) -> None:
    async with running_gateway(
        tmp_path, database_url=database_url, config=_inbox_slots(slots)
    ) as h:
        counting = Counting()
        h.gateway.worker.connectors["inbox"] = counting
        stop = asyncio.Event()
        await h.gateway.start_worker(stop)
        try:
            for _ in range(referrals):
                assert (await h.submit(unique_triage("minimal-patient"))).status_code == 202
            await _until(lambda: counting.in_flight >= slots)
            await asyncio.sleep(0.3)  # room for a claim past the bound, were there one
            assert counting.in_flight == slots
            counting.release.set()
            deadline = asyncio.get_running_loop().time() + 10
            while asyncio.get_running_loop().time() < deadline:
                done = [s for _, s, _ in (await statuses(h)).values()]
                if all(s == "delivered" for s in done):
                    break
                await asyncio.sleep(0.05)
        finally:
            counting.release.set()
            stop.set()
        assert counting.most == slots
        assert len(counting.seen) == len(set(counting.seen)) == referrals  # none twice
        assert all(s == "delivered" for _, s, _ in (await statuses(h)).values())


async def test_one_persons_referrals_to_one_destination_go_one_after_the_other(
    tmp_path: Path, database_url: str
) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        counting = Counting()
        h.gateway.worker.connectors["inbox"] = counting
        stop = asyncio.Event()
        await h.gateway.start_worker(stop)
        person = unique_triage("minimal-patient")["patient"]["identifiers"]
        try:
            for _ in range(3):
                body = unique_triage("minimal-patient")
                body["patient"]["identifiers"] = person
                assert (await h.submit(body)).status_code == 202
            await asyncio.wait_for(counting.entered.wait(), 5)
            await asyncio.sleep(0.3)
            assert counting.in_flight == 1  # the same person's others wait their turn
            counting.release.set()
            await _until(lambda: len(counting.seen) >= 3)
        finally:
            counting.release.set()
            stop.set()
        assert counting.most == 1
        assert len(set(counting.seen)) == 3
