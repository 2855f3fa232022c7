"""docs/runbooks/suspected-breach.md, played: a client is suspect; the page's commands
shut it out, keep the evidence, and say whose data went where, from an intact audit."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from harness import running_gateway, triage
from runbook import Runbook, cli_env

from gateway.app import create_app

pytestmark = pytest.mark.integration


def _person(value: str) -> dict:  # type: ignore[type-arg]
    body = triage(triage_id=f"breach-{value}")
    body["patient"]["identifiers"] = [
        {"system": "https://app.example.org/patients", "value": value}
    ]
    return body


async def test_suspected_breach_runbook(tmp_path: Path, database_url: str) -> None:
    page = Runbook("suspected-breach.md")
    page.check_commands()
    page.says("45 CFR 164.404", "60 calendar days from discovery", "42 CFR Part 2", "state laws")
    env = cli_env(database_url)
    async with running_gateway(tmp_path, database_url=database_url) as h:
        page.check_paths(create_app(h.gateway))
        suspect = [(await h.submit(_person(v), client_id="app-b")).json() for v in ("s-1", "s-2")]
        bystander = (await h.submit(_person("b-1"))).json()
        await h.deliver_all()

        await page.run("gateway clients remove --client-id app-b", env)
        await page.run("gateway keys rotate --which access-tokens", env)
        intact = await page.run("gateway audit verify", env)
        assert "intact" in intact.output
        head = await page.run("gateway audit head", env)
        assert json.loads(head.output)["seq"] > 0

        activity = await page.run("gateway activity client app-b --since 2026-01-01", env)
        lines = [json.loads(line) for line in activity.stdout.splitlines() if line]
        assert {line["referral_id"] for line in lines if line["referral_id"]} == {
            s["referral_id"] for s in suspect
        }
        assert bystander["referral_id"] not in {line["referral_id"] for line in lines}
        for value in ("s-1", "s-2"):
            person = quote(f"https://app.example.org/patients|{value}", safe="")
            rows = (await h.get(f"/patients/{person}/disclosures", client_id="operator")).json()
            assert sorted(r["recipient"]["display"] for r in rows["disclosures"]) == [
                "crisis-desk",
                "inbox",
            ]
        audit = await h.get("/fhir/AuditEvent", client_id="operator", _lastUpdated="ge2026-01-01")
        assert audit.status_code == 200 and audit.json()["resourceType"] == "Bundle"
