"""docs/runbooks/key-rotation.md, played: rotate both keyrings with the page's
commands while tokens are in use; the old token is honoured, new ones use the new key,
both keys are published, nothing is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import running_gateway, triage
from joserfc import jws
from runbook import Runbook, cli_env

from gateway.app import create_app

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).protected["kid"])


async def test_key_rotation_runbook(tmp_path: Path, database_url: str) -> None:
    page = Runbook("key-rotation.md")
    page.check_commands()
    page.says("no restart", "invalid_client", "jwks_uri", "security officer")
    env = cli_env(database_url)
    clock = Clock()
    async with running_gateway(tmp_path, database_url=database_url, clock=clock) as h:
        page.check_paths(create_app(h.gateway))
        old = await h.token("app-a")
        before = await page.run("gateway keys list", env)
        assert "access-tokens" in before.output
        await page.run("gateway keys rotate --which access-tokens", env)
        # a request with the old token, right after the rotation: honoured
        assert (await h.submit(triage(triage_id="during"))).status_code == 202
        clock.now += timedelta(seconds=6)  # every process has re-read the keys
        h.tokens.clear()
        new = await h.token("app-a")
        assert _kid(new) != _kid(old)
        published = {k["kid"] for k in (await h.client.get("/auth/jwks")).json()["keys"]}
        assert published == {_kid(old), _kid(new)}
        for token in (old, new):
            answer = await h.client.get(
                "/referrals/none", headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 404  # authenticated; nothing refused
        listing = await page.run("gateway keys list", env)
        rows = [line.split("\t") for line in listing.output.splitlines()[1:]]
        signing = [r for r in rows if r[1] == "access-tokens" and r[4] == "signing"]
        assert [r[0] for r in signing] == [_kid(new)]

        await page.run("gateway keys rotate --which ehr-client", env)
        assert h.gateway.ehr_keyring is not None
        await h.gateway.ehr_keyring.refresh()
        ehr = (await h.client.get("/auth/ehr-client-jwks")).json()["keys"]
        assert [k["kid"] for k in ehr] == [(await h.gateway.ehr_keyring.signer()).kid]
        clock.now += timedelta(seconds=400)  # the old access-token key's tokens expired
        published = {k["kid"] for k in (await h.client.get("/auth/jwks")).json()["keys"]}
        assert published == {_kid(new)}
