"""The referral's status across several deliveries and the requester's cancellation."""

from __future__ import annotations

from pathlib import Path

from harness import running_gateway, triage
from loop_fixtures import loop_config, recipient_headers, requester_headers
from sqlalchemy import select

from connectors.mock import MockConnector
from gateway.store import fhir_store
from gateway.store.tables import deliveries


async def _task_ids(h, referral_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    async with h.gateway.engine.connect() as conn:
        rows = await conn.execute(
            select(deliveries.c.destination, deliveries.c.task_id).where(
                deliveries.c.referral_id == referral_id
            )
        )
        return {destination: task_id for destination, task_id in rows}


async def test_cancelled_before_sending_makes_no_outbound_call(tmp_path: Path) -> None:
    inbox, crisis = MockConnector(), MockConnector()
    connectors = {"inbox": inbox, "crisis-desk": crisis, "community-inbox": MockConnector()}
    async with running_gateway(tmp_path, config=loop_config, connectors=connectors) as h:
        referral_id = (await h.submit(triage())).json()["referral_id"]
        tasks = await _task_ids(h, referral_id)
        for task_id in tasks.values():
            async with h.gateway.engine.connect() as conn:
                stored = await fhir_store.read(conn, "Task", task_id)
            assert stored is not None
            cancelled = {**stored.body, "status": "cancelled",
                         "statusReason": {"text": "The person asked us to stop."}}
            response = await h.client.put(
                f"/fhir/Task/{task_id}", json=cancelled,
                headers={**await requester_headers(h), "If-Match": 'W/"1"'},
            )
            assert response.status_code == 200, response.text
        await h.deliver_all()
        assert inbox.attempts == [] and crisis.attempts == []
        view = (await h.get(f"/referrals/{referral_id}")).json()
        assert {d["status"] for d in view["deliveries"]} == {"cancelled"}
        assert view["status"] == "cancelled"


async def test_a_later_delivery_does_not_undo_a_recipient_acceptance(tmp_path: Path) -> None:
    crisis = MockConnector(transient_failures=1)
    connectors = {"inbox": MockConnector(), "crisis-desk": crisis,
                  "community-inbox": MockConnector()}
    async with running_gateway(tmp_path, config=loop_config, connectors=connectors) as h:
        referral_id = (await h.submit(triage())).json()["referral_id"]
        await h.gateway.worker.run_once()  # crisis lane first: fails once, retried later
        await h.deliver_all()  # the inbox delivery
        inbox_task = (await _task_ids(h, referral_id))["inbox"]
        current = await h.client.get(f"/fhir/Task/{inbox_task}",
                                     headers=await recipient_headers(h))
        accepted = await h.client.put(
            f"/fhir/Task/{inbox_task}", json={**current.json(), "status": "accepted"},
            headers={**await recipient_headers(h), "If-Match": current.headers["etag"]},
        )
        assert accepted.status_code == 200, accepted.text
        async with h.gateway.engine.begin() as conn:  # the crisis retry is due now
            await conn.execute(deliveries.update().where(
                deliveries.c.destination == "crisis-desk").values(
                    next_attempt_at=h.gateway.clock()))
        await h.deliver_all()
        view = (await h.get(f"/referrals/{referral_id}")).json()
        assert {d["destination"]: d["status"] for d in view["deliveries"]} == {
            "inbox": "delivered", "crisis-desk": "delivered"}
        assert view["status"] == "accepted"
