"""`gateway keys rotate` against a running gateway: no restart, no refused request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import running_gateway, triage
from joserfc import jws
from typer.testing import CliRunner

from gateway.auth.keyring import rotate
from gateway.cli import app
from gateway.store.clients import remove_client
from gateway.store.signing_keys import DatabaseKeyStore


def _kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).protected["kid"])


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_rotation_publishes_both_keys_signs_with_the_new_and_honours_the_old(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with running_gateway(tmp_path, clock=clock) as h:
        old = await h.token("app-a")
        await rotate(
            DatabaseKeyStore(h.gateway.engine, clock),
            "access-tokens",
            now=clock.now,
            kid="rotated-1",
        )
        clock.now += timedelta(seconds=6)  # past the keyring's refresh interval
        h.tokens.clear()
        new = await h.token("app-a")
        assert _kid(new) == "rotated-1" != _kid(old)
        published = {k["kid"] for k in (await h.client.get("/auth/jwks")).json()["keys"]}
        assert published == {_kid(old), "rotated-1"}
        for token in (old, new):
            answer = await h.client.get(
                "/referrals/none", headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 404  # authenticated, just nothing there
        clock.now += timedelta(seconds=400)  # the old key's tokens have all expired
        published = {k["kid"] for k in (await h.client.get("/auth/jwks")).json()["keys"]}
        assert published == {"rotated-1"}


async def test_a_second_process_verifies_a_token_signed_after_a_rotation_it_has_not_seen(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/shared.db"
    async with (
        running_gateway(tmp_path, database_url=url) as first,
        running_gateway(tmp_path, database_url=url) as second,
    ):
        first.keys.update(second.keys)  # the second start registered its own keys
        await second.token("app-a")  # the second has loaded its keys
        await rotate(
            DatabaseKeyStore(first.gateway.engine, first.gateway.clock),
            "access-tokens",
            now=datetime.now(UTC),
            kid="fresh",
        )
        await first.gateway.access_keyring.refresh()  # type: ignore[union-attr]
        token = await first.token("app-a")
        assert _kid(token) == "fresh"
        answer = await second.client.get(
            "/referrals/none", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 404


async def test_a_removed_client_is_shut_out_at_once_with_the_token_it_holds(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path) as h:
        assert (await h.submit(triage(triage_id="before"))).status_code == 202
        async with h.gateway.engine.begin() as conn:
            assert await remove_client(conn, "app-a")
        refused = await h.submit(triage(triage_id="after"))
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert (await h.submit(triage(triage_id="other"), client_id="app-b")).status_code == 202


def test_keys_cli_rotates_and_lists(tmp_path: Path) -> None:
    env = {"GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db"}
    runner = CliRunner()
    first = runner.invoke(app, ["keys", "rotate"], env=env)
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["keys", "rotate", "--which", "access-tokens"], env=env)
    ehr = runner.invoke(app, ["keys", "rotate", "--which", "ehr-client"], env=env)
    assert second.exit_code == 0 and ehr.exit_code == 0
    listing = runner.invoke(app, ["keys", "list"], env=env)
    rows = [line.split("\t") for line in listing.output.strip().splitlines()[1:]]
    assert len(rows) == 3
    by_use = {}
    for kid, use, alg, _created, retired, _until in rows:
        by_use.setdefault(use, []).append((kid, retired))
        assert alg in {"ES384", "RS384"}
    assert sorted(r for _, r in by_use["access-tokens"])[-1] == "signing"
    assert sum(r == "signing" for _, r in by_use["access-tokens"]) == 1
    assert by_use["ehr-client"][0][1] == "signing"
    assert runner.invoke(app, ["keys", "rotate", "--which", "nope"], env=env).exit_code != 0
