"""A payload the worker's FHIR check refuses never stops the crisis path: the crisis
service still gets its thin notification, an operator is alerted at once, and only the
other deliveries are dead-lettered (docs/crisis.md, "When a payload is refused as invalid")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import structlog
from harness import running_gateway, triage
from sqlalchemy import select, update

from connectors.mock import MockConnector
from gateway.crisis.invalid_payload import THIN_TYPES
from gateway.store.tables import deliveries, referrals


async def _corrupt_bundle(h: Any, referral_id: str) -> None:
    """What intake now refuses, written behind its back: the worker must still cope."""
    async with h.gateway.engine.begin() as conn:
        raw = (
            await conn.execute(select(referrals.c.bundle).where(referrals.c.id == referral_id))
        ).scalar_one()
        bundle = orjson.loads(raw)
        for entry in bundle["entry"]:
            if entry["resource"]["resourceType"] == "Patient":
                entry["resource"]["birthDate"] = "1998-02-31"
        await conn.execute(
            update(referrals)
            .where(referrals.c.id == referral_id)
            .values(bundle=orjson.dumps(bundle))
        )


async def test_refused_payload_still_notifies_the_crisis_service_and_alerts(
    tmp_path: Path,
) -> None:
    crisis, inbox = MockConnector(), MockConnector()
    connectors = {"inbox": inbox, "community-inbox": MockConnector(), "crisis-desk": crisis}
    async with running_gateway(tmp_path, connectors=connectors) as h:
        response = await h.submit(triage())  # item 9 positive: inbox and crisis-desk
        assert response.status_code == 202, response.text
        referral_id = response.json()["referral_id"]
        await _corrupt_bundle(h, referral_id)
        with structlog.testing.capture_logs() as logs:
            await h.deliver_all()

        # The crisis service got its notification, from the thin set of resources.
        assert len(crisis.delivered) == 1
        sent = {e["resource"]["resourceType"] for e in crisis.delivered[0].bundle["entry"]}
        assert sent <= THIN_TYPES and "Patient" in sent
        # The EHR-bound delivery was not sent invalid data: it waits for an operator.
        assert inbox.attempts == []
        async with h.gateway.engine.connect() as conn:
            statuses = dict(
                (await conn.execute(select(deliveries.c.destination, deliveries.c.status))).all()
            )
        assert statuses["inbox"] == "dead"
        assert statuses["crisis-desk"] == "delivered"

        # The operator is alerted at once: a log line and a metric, per destination.
        alerts = [e for e in logs if e["event"] == "delivery.payload_refused"]
        assert {a["destination"] for a in alerts} == {"inbox", "crisis-desk"}
        assert all(a["log_level"] == "error" and a["outcome"] == "operator-alerted" for a in alerts)
        assert {a["reason_code"] for a in alerts} == {"thin-notification", "dead-lettered"}
        text = (await h.client.get("/metrics")).text
        thin = '{action="thin-notification",destination="crisis-desk"} 1.0'
        assert f"gateway_payloads_refused_total{thin}" in text
        assert (
            'gateway_payloads_refused_total{action="dead-lettered",destination="inbox"} 1.0' in text
        )


async def test_a_valid_payload_raises_no_alert(tmp_path: Path) -> None:
    crisis = MockConnector()
    connectors = {
        "inbox": MockConnector(),
        "community-inbox": MockConnector(),
        "crisis-desk": crisis,
    }
    async with running_gateway(tmp_path, connectors=connectors) as h:
        assert (await h.submit(triage())).status_code == 202
        with structlog.testing.capture_logs() as logs:
            await h.deliver_all()
        assert not [e for e in logs if e["event"] == "delivery.payload_refused"]
        # The crisis service gets the whole minimised Bundle when nothing is wrong.
        sent = {e["resource"]["resourceType"] for e in crisis.delivered[0].bundle["entry"]}
        assert not sent <= THIN_TYPES
