"""Restore from a backup (docs/runbooks/restore-from-backup.md), on SQLite and PostgreSQL.

What the backup recorded as delivered is never sent again; what was delivered after
the backup goes again with the same delivery identity (so the EHR's conditional
create and the receivers' webhook-id find the twin), and the gateway says the
database is behind the audit head exported before the restore.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from harness import running_gateway, triage
from pg import ADMIN_URL, _admin

from connectors.mock import MockConnector
from gateway.operations import export_head, verify_audit

pytestmark = pytest.mark.integration


def _mocks() -> dict[str, MockConnector]:
    return {name: MockConnector() for name in ("inbox", "community-inbox", "crisis-desk")}


def _routine(triage_id: str) -> dict:  # type: ignore[type-arg]
    body = triage(triage_id=triage_id)
    body["risk"]["signals"] = []
    body["assessments"][0]["answers"][8] = 0
    return body


def _backup(database_url: str, tmp_path: Path) -> str:
    """A consistent online backup, restored to a new database; its URL."""
    if database_url.startswith("sqlite"):
        source = database_url.split("///", 1)[1]
        target = tmp_path / f"restored-{uuid.uuid4().hex[:6]}.db"
        with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
            live.backup(copy)  # the documented `.backup`, as sqlite3's CLI does it
        return f"sqlite+aiosqlite:///{target}"
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    plain = database_url.replace("postgresql+asyncpg://", "postgresql://")
    dump = tmp_path / f"backup-{uuid.uuid4().hex[:6]}.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), plain], check=True)
    name = f"gw_restored_{uuid.uuid4().hex[:12]}"
    return _restore_pg(dump, name, plain)


def _restore_pg(dump: Path, name: str, plain_url: str) -> str:
    server = plain_url.rsplit("/", 1)[0]
    subprocess.run(["psql", ADMIN_URL, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    subprocess.run(["pg_restore", "--no-owner", "-d", f"{server}/{name}", str(dump)], check=True)
    return f"postgresql+asyncpg://{server.removeprefix('postgresql://')}/{name}"


async def _drop(url: str) -> None:
    if url.startswith("postgresql"):
        await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def test_what_the_backup_recorded_as_delivered_is_not_sent_again(
    tmp_path: Path, database_url: str
) -> None:
    before = _mocks()
    async with running_gateway(tmp_path, database_url=database_url, connectors=before) as h:
        assert (await h.submit(_routine("kept"))).status_code == 202
        await h.deliver_all()
        assert len(before["inbox"].delivered) == 1
        restored = _backup(database_url, tmp_path)
    after = _mocks()
    try:
        async with running_gateway(tmp_path, database_url=restored, connectors=after) as h:
            await h.deliver_all()
            assert [m.attempts for m in after.values()] == [[], [], []]
            referral = await h.get(f"/referrals/{before['inbox'].delivered[0].referral_id}")
            assert referral.json()["deliveries"][0]["status"] == "delivered"
    finally:
        await _drop(restored)


async def test_after_a_restore_the_gateway_says_it_is_behind_and_resends_with_the_same_identity(
    tmp_path: Path, database_url: str
) -> None:
    before = _mocks()
    async with running_gateway(tmp_path, database_url=database_url, connectors=before) as h:
        assert (await h.submit(_routine("after-backup"))).status_code == 202
        restored = _backup(database_url, tmp_path)
        await h.deliver_all()  # delivered after the backup was taken
        async with h.gateway.engine.connect() as conn:
            head = await export_head(conn)  # kept outside the database, as the runbook says
    assert head is not None
    head_file = tmp_path / "audit-head.json"
    head_file.write_text(head.to_json())
    after = _mocks()
    try:
        async with running_gateway(
            tmp_path,
            database_url=restored,
            connectors=after,
            settings={"audit_head_file": str(head_file)},
        ) as h:
            assert h.gateway.behind_audit_head is not None and h.gateway.behind_audit_head > 0
            async with h.gateway.engine.connect() as conn:
                verdict = await verify_audit(conn, head)
            assert (
                not verdict.ok
                and verdict.first_bad_seq == head.seq - h.gateway.behind_audit_head + 1
            )
            await h.deliver_all()
        again = after["inbox"].delivered
        first = before["inbox"].delivered
        assert len(again) == len(first) == 1
        assert (again[0].delivery_id, again[0].referral_id) == (
            first[0].delivery_id,
            first[0].referral_id,
        )
    finally:
        await _drop(restored)
