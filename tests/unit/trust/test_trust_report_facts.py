"""The report read from a real database: crisis acknowledgements, Task acceptance,
emergency disclosures and consent withdrawals are counted with their referral."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from harness import running_gateway, triage
from sqlalchemy import select
from trust_rig import CRISIS, RECIPIENT, trust_config

from connectors.mock import MockConnector
from gateway.store.tables import deliveries


async def test_the_report_counts_what_happened_to_each_referral(tmp_path: Path) -> None:
    connectors = {
        "inbox": MockConnector(),
        "crisis-desk": MockConnector(),
        "community-inbox": MockConnector(),
    }
    async with running_gateway(tmp_path, config=trust_config(), connectors=connectors) as h:
        clinical = await h.submit(triage())  # inbox, and the crisis desk (item 9 positive)
        emergency_body = triage("imminent-risk")
        emergency_body["consent"]["share_with"] = ["ehr"]  # crisis not covered: ETREAT
        emergency = await h.submit(emergency_body)
        assert clinical.status_code == 202 and emergency.status_code == 202, emergency.text
        clinical_id = clinical.json()["referral_id"]
        await h.deliver_all()

        ack = await h.client.post(
            f"/referrals/{emergency.json()['referral_id']}/acknowledge",
            json={"by": "Sam, crisis desk"},
            headers=await h.auth(CRISIS, "system/Task.u"),
        )
        assert ack.status_code == 200, ack.text

        async with h.gateway.engine.connect() as conn:
            task_id = (
                await conn.execute(
                    select(deliveries.c.task_id).where(
                        deliveries.c.referral_id == clinical_id, deliveries.c.destination == "inbox"
                    )
                )
            ).scalar_one()
        recipient = await h.auth(RECIPIENT, "system/Task.rs system/Task.u")
        current = await h.client.get(f"/fhir/Task/{task_id}", headers=recipient)
        assert current.status_code == 200, current.text
        accepted = await h.client.put(
            f"/fhir/Task/{task_id}",
            json={**current.json(), "status": "accepted"},
            headers={**recipient, "If-Match": current.headers["etag"]},
        )
        assert accepted.status_code == 200, accepted.text

        consent_id = clinical.json()["consent_id"].split("/", 1)[1]
        consent = (await h.get(f"/fhir/Consent/{consent_id}")).json()
        revoked = await h.client.put(
            f"/fhir/Consent/{consent_id}",
            json={**consent, "status": "inactive"},
            headers=await h.auth(),
        )
        assert revoked.status_code == 200, revoked.text

        today = datetime.now(UTC).date().isoformat()
        report = (
            await h.get("/transparency/report", "operator", **{"from": today, "to": today})
        ).json()
        assert report["totals"] == {
            "referrals": 2,
            "emergency_disclosures": 1,
            "consent_withdrawals": 1,
        }
        assert report["crisis"]["referrals"] == 2
        assert report["crisis"]["acknowledged"] == 1
        assert report["crisis"]["sla_breaches"] == 0
        assert report["crisis"]["time_to_ack_seconds"]["p50"] is not None
        assert report["loop"]["delivered"] == 2
        assert report["loop"]["accepted"] == 1
        assert report["loop"]["median_hours_to_accept"] is not None
        assert report["loop"]["completed"] == 0
        [model] = [m for m in report["models"] if m["version"] == "2.3.1"]
        assert model["risk_levels"]["moderate"] == 1 and model["risk_levels"]["imminent"] == 1

        yesterday = await h.get(
            "/transparency/report", "operator", **{"from": "2020-01-01", "to": "2020-01-02"}
        )
        assert yesterday.json()["totals"]["referrals"] == 0
