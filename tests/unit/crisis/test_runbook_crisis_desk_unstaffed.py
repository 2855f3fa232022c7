"""docs/runbooks/crisis-desk-unstaffed.md, played: nobody acknowledges, the SLA
breaches, the escalation reaches the on-call clinician and then the next contact, the
metric counts it, and a person of another desk acknowledging stops it."""

from __future__ import annotations

from pathlib import Path

from crisis_rig import (
    DIRECTOR,
    ONCALL,
    OPERATOR,
    FakeClock,
    Receiver,
    acknowledge,
    auth_at,
    crisis_config,
    imminent,
    mock_connectors,
    submit_delivered,
    watcher,
)
from harness import running_gateway
from runbook import Runbook

from gateway.app import create_app


async def test_crisis_desk_unstaffed_runbook(tmp_path: Path) -> None:
    page = Runbook("crisis-desk-unstaffed.md")
    page.check_commands()
    page.says("on-call clinician", "clinical safety lead", "ack_sla_seconds", "988")
    clock = FakeClock()
    receiver = Receiver()
    async with running_gateway(
        tmp_path, config=crisis_config(sla=60), connectors=mock_connectors(), clock=clock
    ) as h:
        page.check_paths(create_app(h.gateway))
        referral_id = await submit_delivered(h, clock, imminent())
        w = watcher(h, receiver, clock)
        assert await w.run_once(clock.at(61)) == 1  # past the SLA: the first step
        assert await w.run_once(clock.at(122)) == 1  # one SLA period later: the next
        assert receiver.urls() == [ONCALL, DIRECTOR]
        headers = await auth_at(h, *OPERATOR, clock)
        view = (await h.client.get(f"/referrals/{referral_id}", headers=headers)).json()
        (crisis,) = [d for d in view["deliveries"] if d["destination"] == "crisis-line"]
        assert [e["contact"] for e in crisis["escalations"]] == [
            "on-call clinician",
            "clinical director",
        ]
        assert crisis["acknowledgement"] is None
        metrics = (await h.client.get("/metrics")).text
        assert 'gateway_crisis_sla_breaches_total{destination="crisis-line"} 2.0' in metrics

        handed = await acknowledge(  # the backup desk took the person on
            h, referral_id, clock, body={"by": "Lee, backup desk", "note": "called, safe"}
        )
        assert handed.status_code in {200, 201}, handed.text
        assert await w.run_once(clock.at(500)) == 0  # escalation stops
        headers = await auth_at(h, *OPERATOR, clock)
        view = (await h.client.get(f"/referrals/{referral_id}", headers=headers)).json()
        (crisis,) = [d for d in view["deliveries"] if d["destination"] == "crisis-line"]
        assert crisis["acknowledgement"]["by"] == "Lee, backup desk"
