"""Emergency disclosures (ETREAT without consent) surfaced for an operator's review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crisis_rig import (
    OPERATOR,
    FakeClock,
    auth_at,
    crisis_config,
    imminent,
    mock_connectors,
    submit_delivered,
)
from harness import running_gateway, triage
from sqlalchemy import select

from gateway.store.tables import audit_log

LIST = "/operations/emergency-disclosures"


def without_crisis_consent() -> dict[str, Any]:
    body = imminent(triage_id="emergency-1")
    body["consent"]["share_with"] = ["ehr"]  # imminent risk: the crisis route goes anyway
    return body


async def test_operators_list_and_review_emergency_disclosures(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_gateway(
        tmp_path, config=crisis_config(), connectors=mock_connectors(), clock=clock
    ) as h:
        referral_id = await submit_delivered(h, clock, without_crisis_consent())
        # Crisis route with consent, below imminent risk: an ordinary disclosure.
        await submit_delivered(h, clock, triage())
        operator = await auth_at(h, *OPERATOR, clock)

        listed = await h.client.get(LIST, headers=operator)
        assert listed.status_code == 200, listed.text
        [item] = listed.json()["emergency_disclosures"]
        assert item["referral_id"] == referral_id
        assert item["recipient"] == "crisis-line"
        assert item["disclosed_at"] == "2026-11-27T12:00:00.000Z"
        assert item["nature_of_emergency"]
        assert item["reviewed"] is False and item["review"] is None

        clock.at(3600)
        operator = await auth_at(h, *OPERATOR, clock)
        reviewed = await h.client.post(
            f"{LIST}/{item['seq']}/review",
            json={"by": "Privacy officer", "note": "Imminent risk confirmed."},
            headers=operator,
        )
        assert reviewed.status_code == 200, reviewed.text
        review = reviewed.json()["review"]
        assert (review["by"], review["at"]) == ("Privacy officer", "2026-11-27T13:00:00Z")

        again = await h.client.post(
            f"{LIST}/{item['seq']}/review", json={"by": "Someone else"}, headers=operator
        )
        assert again.json()["review"]["by"] == "Privacy officer"
        assert (await h.client.get(LIST, headers=operator, params={"reviewed": "false"})).json()[
            "emergency_disclosures"
        ] == []
        [done] = (await h.client.get(LIST, headers=operator, params={"reviewed": "true"})).json()[
            "emergency_disclosures"
        ]
        assert done["reviewed"] is True
        async with h.gateway.engine.connect() as conn:
            types = [row[0] for row in await conn.execute(select(audit_log.c.event_type))]
        assert types.count("disclosure-reviewed") == 1
        assert types.count("emergency-disclosure") == 1  # the original entry is untouched


async def test_only_operators_see_or_review_them(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_gateway(
        tmp_path, config=crisis_config(), connectors=mock_connectors(), clock=clock
    ) as h:
        await submit_delivered(h, clock, without_crisis_consent())
        app = await auth_at(h, "app-a", "system/ServiceRequest.r system/Task.u", clock)
        assert (await h.client.get(LIST, headers=app)).status_code == 403
        refused = await h.client.post(f"{LIST}/1/review", json={"by": "x"}, headers=app)
        assert refused.status_code == 403
        reader = await auth_at(h, "operator", "system/*.rs", clock)
        assert (
            await h.client.post(f"{LIST}/1/review", json={"by": "x"}, headers=reader)
        ).status_code == 403
        operator = await auth_at(h, *OPERATOR, clock)
        missing = await h.client.post(f"{LIST}/99999/review", json={"by": "x"}, headers=operator)
        assert missing.status_code == 404
        not_emergency = await h.client.post(f"{LIST}/1/review", json={"by": "x"}, headers=operator)
        assert not_emergency.status_code == 404  # seq 1 is another kind of audit entry
