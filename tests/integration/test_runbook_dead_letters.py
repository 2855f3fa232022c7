"""docs/runbooks/dead-letters.md, played: a destination refuses referrals for good,
the page's `dlq list` names the cause, the fix, then `dlq replay` delivers each once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import running_gateway, triage
from runbook import Runbook, cli_env

from connectors.mock import MockConnector
from gateway.app import create_app

pytestmark = pytest.mark.integration


def _routine(triage_id: str) -> dict:  # type: ignore[type-arg]
    body = triage(triage_id=triage_id)
    body["risk"]["signals"], body["assessments"][0]["answers"][8] = [], 0
    return body


async def test_dead_letters_runbook(tmp_path: Path, database_url: str) -> None:
    page = Runbook("dead-letters.md")
    page.check_commands()
    page.says("no dead letters", "safe", "decided again", "crisis desk lead")
    env = cli_env(database_url)
    inbox = MockConnector(permanent_reason="400: Patient.birthDate is required by this server")
    mocks = {"inbox": inbox, "community-inbox": MockConnector(), "crisis-desk": MockConnector()}
    async with running_gateway(tmp_path, database_url=database_url, connectors=mocks) as h:
        page.check_paths(create_app(h.gateway))
        accepted = [(await h.submit(_routine(f"dl-{n}"))).json() for n in range(3)]
        await h.deliver_all()
        view = (await h.get(f"/referrals/{accepted[0]['referral_id']}")).json()
        assert view["status"] == "needs-attention"
        listed = await page.run("gateway dlq list", env)
        letters = [json.loads(line) for line in listed.output.splitlines()]
        assert len(letters) == 3
        assert {letter["destination"] for letter in letters} == {"inbox"}
        assert all("birthDate" in (letter["reason"] or "") for letter in letters)

        inbox.permanent_reason = None  # the destination's side is fixed
        for letter in letters:
            await page.run(f"gateway dlq replay {letter['delivery_id']}", env)
        await h.deliver_all()
        assert sorted(inbox.delivered_ids().values()) == [1, 1, 1]  # each exactly once
        assert (await page.run("gateway dlq list", env)).output.strip() == "no dead letters"
        for answer in accepted:
            view = (await h.get(f"/referrals/{answer['referral_id']}")).json()
            assert [d["status"] for d in view["deliveries"]] == ["delivered"]
