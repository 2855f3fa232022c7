"""docs/runbooks/ehr-down.md, played: the EHR fails for hours, the circuit breaker
keeps it to a handful of tries, the crisis route is not held up, apps see `pending`
with the last error, and when it is back the backlog drains, each referral once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import running_gateway, triage
from runbook import Runbook, cli_env

from connectors.mock import MockConnector
from gateway.app import create_app

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _routine(triage_id: str) -> dict:  # type: ignore[type-arg]
    body = triage(triage_id=triage_id)
    body["risk"]["signals"], body["assessments"][0]["answers"][8] = [], 0
    return body


async def test_ehr_down_runbook(tmp_path: Path, database_url: str) -> None:
    page = Runbook("ehr-down.md")
    page.check_commands()
    page.says("circuit breaker", "202", "pending", "crisis routes do not go through the ehr")
    env = cli_env(database_url)
    ehr = MockConnector(transient_failures=10**6)  # "inbox" stands for the EHR here
    crisis = MockConnector()
    mocks = {"inbox": ehr, "community-inbox": MockConnector(), "crisis-desk": crisis}
    clock = Clock()
    async with running_gateway(
        tmp_path,
        database_url=database_url,
        connectors=mocks,
        clock=clock,
        settings={"circuit_cool_down_seconds": 0.2},  # 30 s in production
    ) as h:
        page.check_paths(create_app(h.gateway))
        answers = [await h.submit(_routine(f"down-{n}")) for n in range(8)]
        assert {a.status_code for a in answers} == {202}  # intake keeps accepting
        crisis_answer = await h.submit(triage(triage_id="down-crisis"))
        await h.deliver_all()
        threshold = h.gateway.settings.circuit_failure_threshold
        assert len(ehr.attempts) <= threshold < 9  # the circuit opened: not one try each
        assert len(crisis.delivered) == 1  # the crisis route was not held up
        view = (await h.get(f"/referrals/{answers[-1].json()['referral_id']}")).json()
        assert view["status"] == "accepted"
        assert [d["status"] for d in view["deliveries"]] == ["pending"]
        metrics = (await h.client.get("/metrics")).text
        assert 'gateway_deliveries{destination="inbox",status="pending"} 9.0' in metrics
        assert (await page.run("gateway dlq list", env)).output.strip() == "no dead letters"

        ehr.transient_failures = 0  # the EHR is back
        for _ in range(6):  # the worker's next passes, each after backoff and cool-down
            clock.now += timedelta(seconds=20)
            await asyncio.sleep(0.25)  # the circuit's cool-down runs on the monotonic clock
            await h.deliver_all()
        assert sorted(ehr.delivered_ids().values()) == [1] * 9  # each once, none lost
        ids = [a.json()["referral_id"] for a in [*answers, crisis_answer]]
        for referral_id in ids:
            view = (await h.get(f"/referrals/{referral_id}")).json()
            assert {d["status"] for d in view["deliveries"]} == {"delivered"}
