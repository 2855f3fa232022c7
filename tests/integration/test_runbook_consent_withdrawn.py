"""docs/runbooks/consent-withdrawn-in-flight.md, played: one delivery went, another is
waiting for a retry when the person withdraws; it is withheld, the accounting lists
only what went, and the page's checks say so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import running_gateway, triage
from runbook import Runbook

from connectors.mock import MockConnector
from gateway.app import create_app

pytestmark = pytest.mark.integration
PERSON = "https://app.example.org/patients|p-123"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_consent_withdrawn_in_flight_runbook(tmp_path: Path, database_url: str) -> None:
    page = Runbook("consent-withdrawn-in-flight.md")
    page.says("withheld", "ETREAT", "cannot be unsent", "42 CFR Part 2", "suspected-breach.md")
    inbox, crisis = MockConnector(transient_failures=1), MockConnector()
    mocks = {"inbox": inbox, "community-inbox": MockConnector(), "crisis-desk": crisis}
    clock = Clock()
    async with running_gateway(
        tmp_path, database_url=database_url, connectors=mocks, clock=clock
    ) as h:
        page.check_paths(create_app(h.gateway))
        accepted = (await h.submit(triage())).json()  # to the inbox and the crisis desk
        await h.deliver_all()
        assert len(crisis.delivered) == 1 and inbox.delivered == []  # the inbox will retry
        consent_id = accepted["consent_id"].split("/")[1]
        current = (await h.get(f"/fhir/Consent/{consent_id}")).json()
        current["status"] = "inactive"
        withdrawn = await h.client.put(
            f"/fhir/Consent/{consent_id}",
            content=json.dumps(current),
            headers={
                **await h.auth(),
                "If-Match": 'W/"1"',
                "Content-Type": "application/fhir+json",
            },
        )
        assert withdrawn.status_code == 200, withdrawn.text
        clock.now += timedelta(seconds=30)  # the retry is due
        await h.deliver_all()
        assert inbox.delivered == []  # decided again, not sent
        view = (await h.get(f"/referrals/{accepted['referral_id']}", client_id="operator")).json()
        by_destination = {d["destination"]: d for d in view["deliveries"]}
        assert by_destination["inbox"]["status"] == "withheld"
        assert by_destination["crisis-desk"]["status"] == "delivered"
        assert by_destination["crisis-desk"]["delivered_at"]
        rows = (await h.get(f"/patients/{PERSON}/disclosures", client_id="operator")).json()
        assert [r["recipient"]["display"] for r in rows["disclosures"]] == ["crisis-desk"]
        summary = await h.get(f"/consents/{consent_id}/summary")
        assert summary.status_code == 200 and summary.json()["status"] == "inactive"
