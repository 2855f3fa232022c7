"""docs/runbooks/model-drift-alert.md, played: pause the version, nothing is lost,
every referral goes to a person and is flagged, then resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import running_gateway, triage
from runbook import Runbook, cli_env

from connectors.mock import MockConnector
from gateway.app import create_app

pytestmark = pytest.mark.integration


async def test_model_drift_alert_runbook(tmp_path: Path, database_url: str) -> None:
    page = Runbook("model-drift-alert.md")
    page.check_commands()
    page.says("under-triage", "clinical safety lead", "developer", "nothing is lost")
    mocks = {n: MockConnector() for n in ("inbox", "community-inbox", "crisis-desk")}
    env = cli_env(database_url)
    async with running_gateway(tmp_path, database_url=database_url, connectors=mocks) as h:
        page.check_paths(create_app(h.gateway))
        await page.run(
            'gateway models pause example-triage 2.3.1 --reason "under-triage alert 2026-11-27"'
            ' --by "ops:your-name"',
            env,
        )
        listed = await page.run("gateway models list", env)
        assert "example-triage\t2.3.1" in listed.output
        routine = triage(triage_id="routine-while-paused")
        routine["risk"]["signals"], routine["assessments"][0]["answers"][8] = [], 0
        bodies = [routine, triage(triage_id="signal-while-paused")]
        answers = [await h.submit(body) for body in bodies]
        assert [a.status_code for a in answers] == [202, 202]  # accepted, none dropped
        assert [[r["destination"] for r in a.json()["routing"]] for a in answers] == [
            ["inbox"],
            ["crisis-desk"],
        ]
        for answer in answers:
            view = (await h.get(f"/referrals/{answer.json()['referral_id']}")).json()
            assert view["model_paused"] is True and view["model_paused_reason"]
        await h.deliver_all()
        assert len(mocks["inbox"].delivered) == len(mocks["crisis-desk"].delivered) == 1
        await page.run('gateway models resume example-triage 2.3.1 --by "ops:your-name"', env)
        after = await h.submit(triage(triage_id="after-resume"))
        assert "model_paused" not in after.json()
