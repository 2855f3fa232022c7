"""Status sync from an EHR destination (poll, and rest-hook nudges), against a fake EHR
that answers like a FHIR server: the CapabilityStatement decides what is asked."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness import Harness, running_gateway, triage
from joserfc.jwk import ECKey
from loop_fixtures import SettableClock, loop_config
from sqlalchemy import select

from connectors.base import Connector, Delivery, Receipt
from connectors.ehr_tasks import EhrTaskReader
from gateway.referral_loop.status_sync import StatusSync
from gateway.referral_loop.sync_hook import HOOK_HEADER
from gateway.store.db import create_engine
from gateway.store.tables_loop import notifications, sync_cursors

BASE = "https://ehr.example.org/fhir"


def ehr_config(mode: str) -> Any:
    def build(keys: dict[str, ECKey]) -> dict[str, Any]:
        config = loop_config(keys)
        config["destinations"].append(
            {
                "name": "county-ehr",
                "type": "fhir",
                "base_url": BASE,
                "status_sync": {"mode": mode, "poll_seconds": 900},
            }
        )
        for rule in config["routing"]:
            if rule["name"] == "clinical":
                rule["send_to"] = ["county-ehr"]
        return config

    return build


class FakeEhrDelivery(Connector):
    async def deliver(self, delivery: Delivery) -> Receipt:
        return Receipt(remote_ids={"Task": "remote-1"}, status_code=200, detail="accepted")


def fake_connectors() -> dict[str, Connector]:
    return {
        name: FakeEhrDelivery()
        for name in ("county-ehr", "crisis-desk", "inbox", "community-inbox")
    }


@dataclass
class FakeEhr:
    last_updated_search: bool = True
    subscriptions: bool = False
    task: dict[str, Any] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def capability(self) -> dict[str, Any]:
        task_params = [{"name": "status", "type": "token"}]
        if self.last_updated_search:
            task_params.append({"name": "_lastUpdated", "type": "date"})
        resources = [
            {
                "type": "Task",
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": task_params,
            }
        ]
        if self.subscriptions:
            resources.append({"type": "Subscription", "interaction": [{"code": "create"}]})
        return {
            "resourceType": "CapabilityStatement",
            "rest": [{"mode": "server", "resource": resources}],
        }

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/fhir/")
        if path == "metadata":
            return httpx.Response(200, json=self.capability())
        if path == "Task" and request.method == "GET":
            entries = [{"resource": self.task}] if self.task else []
            return httpx.Response(
                200, json={"resourceType": "Bundle", "type": "searchset", "entry": entries}
            )
        if path == "Task/remote-1":
            return httpx.Response(200, json=self.task)
        if path == "Subscription" and request.method == "POST":
            return httpx.Response(201, json={**json.loads(request.content), "id": "sub-9"})
        return httpx.Response(404)


def sync_for(h: Harness, ehr: FakeEhr, clock: SettableClock) -> StatusSync:
    client = httpx.AsyncClient(transport=httpx.MockTransport(ehr.handler))
    return StatusSync(
        h.gateway.engine,
        h.gateway.config,
        clock=clock,
        readers={"county-ehr": EhrTaskReader(BASE, client)},
        public_url="http://gateway.test",
        new_secret=lambda: "hook-secret-1",
    )


async def _submitted(h: Harness) -> tuple[str, str]:
    response = await h.submit(triage())
    referral_id = response.json()["referral_id"]
    await h.deliver_all()
    view = (await h.get(f"/referrals/{referral_id}")).json()
    ehr = next(d for d in view["deliveries"] if d["destination"] == "county-ehr")
    return referral_id, ehr["task"]["reference"].removeprefix("Task/")


def remote_task(local_id: str, status: str, updated: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "id": "remote-1",
        "meta": {"lastUpdated": updated},
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{local_id}"}],
        "status": status,
        "intent": "order",
        **extra,
    }


async def test_poll_mirrors_the_remote_status(tmp_path: Path) -> None:
    clock = SettableClock()
    connectors = fake_connectors()
    async with running_gateway(
        tmp_path, config=ehr_config("poll"), clock=clock, connectors=connectors
    ) as h:
        referral_id, task_id = await _submitted(h)
        ehr = FakeEhr()
        sync = sync_for(h, ehr, clock)
        ehr.task = remote_task(
            task_id, "accepted", "2026-11-27T10:00:01Z", businessStatus={"text": "scheduled"}
        )
        assert await sync.run_due() == 1
        search = next(r for r in ehr.requests if r.url.path == "/fhir/Task")
        assert search.url.params["_lastUpdated"].startswith("gt")
        view = (await h.get(f"/referrals/{referral_id}")).json()
        delivery = next(d for d in view["deliveries"] if d["destination"] == "county-ehr")
        assert delivery["task"]["status"] == "accepted"
        assert delivery["task"]["business_status"] == "scheduled"
        assert view["status"] == "accepted"

        ehr.requests.clear()
        assert await sync.run_due() == 0  # not due again before poll_seconds
        assert ehr.requests == []
        clock.advance(900)
        ehr.task = remote_task(task_id, "completed", "2026-11-27T11:00:00Z")
        assert await sync.run_due() == 1
        search = next(r for r in ehr.requests if r.url.path == "/fhir/Task")
        assert search.url.params["_lastUpdated"] == "gt2026-11-27T10:00:01Z"
        async with h.gateway.engine.connect() as conn:
            sent = list(
                await conn.execute(
                    select(notifications.c.payload).where(notifications.c.channel == "app-webhook")
                )
            )
        statuses = [json.loads(row.payload)["data"]["status"] for row in sent]
        assert statuses.count("accepted") == 1 and statuses.count("completed") == 1


async def test_without_last_updated_each_open_task_is_read(tmp_path: Path) -> None:
    clock = SettableClock()
    connectors = fake_connectors()
    async with running_gateway(
        tmp_path, config=ehr_config("poll"), clock=clock, connectors=connectors
    ) as h:
        _, task_id = await _submitted(h)
        ehr = FakeEhr(last_updated_search=False)
        ehr.task = remote_task(
            task_id, "rejected", "2026-11-27T10:00:01Z", statusReason={"text": "Full."}
        )
        assert await sync_for(h, ehr, clock).sync_destination("county-ehr") == 1
        paths = [r.url.path for r in ehr.requests]
        assert "/fhir/Task/remote-1" in paths and "/fhir/Task" not in paths
        task = (await h.get(f"/fhir/Task/{task_id}")).json()
        assert task["status"] == "rejected" and task["statusReason"]["text"] == "Full."


async def test_subscription_mode_subscribes_and_a_nudge_makes_it_due(tmp_path: Path) -> None:
    clock = SettableClock()
    connectors = fake_connectors()
    async with running_gateway(
        tmp_path, config=ehr_config("subscription"), clock=clock, connectors=connectors
    ) as h:
        _, task_id = await _submitted(h)
        ehr = FakeEhr(subscriptions=True)
        sync = sync_for(h, ehr, clock)
        assert await sync.run_due() == 0
        (created,) = [r for r in ehr.requests if r.url.path == "/fhir/Subscription"]
        body = json.loads(created.content)
        assert body["channel"]["endpoint"] == "http://gateway.test/hooks/ehr/county-ehr"
        assert body["channel"]["header"] == [f"{HOOK_HEADER}: hook-secret-1"]
        assert body["criteria"] == "Task?intent=order"

        ehr.task = remote_task(task_id, "accepted", "2026-11-27T10:00:01Z")
        assert await sync.run_due() == 0  # polled a moment ago: not due
        wrong = await h.client.put(
            "/hooks/ehr/county-ehr/Task/remote-1", headers={HOOK_HEADER: "guess"}
        )
        assert wrong.status_code == 403
        nudged = await h.client.put(
            "/hooks/ehr/county-ehr/Task/remote-1", headers={HOOK_HEADER: "hook-secret-1"}
        )
        assert nudged.status_code == 200
        assert await sync.run_due() == 1
        assert (await h.get(f"/fhir/Task/{task_id}")).json()["status"] == "accepted"
        assert await sync.run_due() == 0
        async with h.gateway.engine.connect() as conn:
            cursor = (await conn.execute(select(sync_cursors))).one()
        assert cursor.remote_subscription_id == "sub-9"
        assert len([r for r in ehr.requests if r.url.path == "/fhir/Subscription"]) == 1


async def test_two_workers_on_one_database_poll_an_ehr_once_per_period(
    tmp_path: Path, database_url: str
) -> None:
    """Two workers (each its own engine, as two processes) sync at the same moment:
    the EHR is asked once, and once again only after the poll period."""
    clock = SettableClock()
    async with running_gateway(
        tmp_path,
        database_url=database_url,
        config=ehr_config("poll"),
        clock=clock,
        connectors=fake_connectors(),
    ) as h:
        _, task_id = await _submitted(h)
        ehr = FakeEhr()
        ehr.task = remote_task(task_id, "accepted", "2026-11-27T10:00:01Z")

        async def slow(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0.05)  # both are inside run_due at once
            return ehr.handler(request)

        engines = [create_engine(h.gateway.settings.database_url) for _ in range(2)]
        try:
            syncs = [
                StatusSync(
                    engine,
                    h.gateway.config,
                    clock=clock,
                    readers={
                        "county-ehr": EhrTaskReader(
                            BASE, httpx.AsyncClient(transport=httpx.MockTransport(slow))
                        )
                    },
                    public_url="http://gateway.test",
                    new_secret=lambda: "hook-secret-1",
                    holder=f"worker-{n}",
                )
                for n, engine in enumerate(engines)
            ]

            def searches() -> int:
                return sum(1 for r in ehr.requests if r.url.path == "/fhir/Task")

            for _ in range(3):
                await asyncio.gather(*(sync.run_due() for sync in syncs))
            assert searches() == 1
            clock.advance(900)
            for _ in range(3):
                await asyncio.gather(*(sync.run_due() for sync in syncs))
            assert searches() == 2
        finally:
            for engine in engines:
                await engine.dispose()
