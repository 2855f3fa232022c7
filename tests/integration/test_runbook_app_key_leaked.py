"""docs/runbooks/app-key-leaked.md, played: the leaked client is shut out at once,
what it did is listed, and it comes back with a new key (the old one refused)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import PUBLIC_URL, client_assertion, new_key, public_jwks, running_gateway, triage
from runbook import Runbook, cli_env

from gateway.app import create_app

pytestmark = pytest.mark.integration


async def _token_status(h, key, client_id: str) -> int:  # type: ignore[no-untyped-def]
    response = await h.client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(key, client_id, f"{PUBLIC_URL}/auth/token"),
            "scope": "system/ServiceRequest.c",
        },
    )
    return int(response.status_code)


async def test_app_key_leaked_runbook(tmp_path: Path, database_url: str) -> None:
    page = Runbook("app-key-leaked.md")
    page.check_commands()
    page.says("401", "privacy officer", "suspected-breach.md", "public")
    env = cli_env(database_url)
    async with running_gateway(tmp_path, database_url=database_url) as h:
        page.check_paths(create_app(h.gateway))
        submitted = [await h.submit(triage(triage_id=f"leak-{n}")) for n in range(2)]
        assert all(s.status_code == 202 for s in submitted)
        other = await h.submit(triage(triage_id="other"), client_id="app-b")
        listed = await page.run("gateway clients list", env)
        assert "app-a" in listed.output
        await page.run("gateway clients remove --client-id app-a", env)
        refused = await h.submit(triage(triage_id="after-removal"))  # the token it holds
        assert refused.status_code == 401
        assert await _token_status(h, h.keys["app-a"], "app-a") in {400, 401}

        activity = await page.run("gateway activity client app-a --since 2026-01-01", env)
        lines = [json.loads(line) for line in activity.stdout.splitlines() if line]
        referrals = {line["referral_id"] for line in lines if line["referral_id"]}
        assert referrals == {s.json()["referral_id"] for s in submitted}
        assert other.json()["referral_id"] not in referrals
        assert {"token.issued", "token.refused"} <= {line["event"] for line in lines}

        fresh = new_key("app-a-2")
        (tmp_path / "new-public-jwks.json").write_text(json.dumps(public_jwks(fresh)))
        await page.run(
            f"gateway clients add --client-id app-a --jwks-file {tmp_path}/new-public-jwks.json"
            ' --scopes "system/ServiceRequest.c system/ServiceRequest.r"',
            env,
        )
        assert await _token_status(h, fresh, "app-a") == 200
        assert await _token_status(h, h.keys["app-a"], "app-a") in {400, 401}
