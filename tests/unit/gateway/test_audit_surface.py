"""The audit log: on the FHIR surface, and checked by ``gateway audit verify``."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import running_gateway, triage
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from gateway.cli import app
from gateway.store.tables import audit_log


async def test_audit_events_are_served_as_fhir(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        accepted = (await h.submit(triage())).json()
        patient = (await h.get(f"/referrals/{accepted['referral_id']}")).json()["links"]["Patient"]
        patient_id = patient.rsplit("/", 1)[1]
        bundle = (await h.get("/fhir/AuditEvent", client_id="operator", patient=patient_id)).json()
        assert bundle["total"] == 3  # received + two consent decisions
        first = bundle["entry"][0]["resource"]
        assert first["resourceType"] == "AuditEvent"
        read = await h.get(f"/fhir/AuditEvent/{first['id']}", client_id="operator")
        assert read.status_code == 200 and read.json()["id"] == first["id"]
        # A triage app has no audit scope: the audit trail is for operators.
        other = await h.get("/fhir/AuditEvent", client_id="app-b", patient=patient_id)
        assert other.status_code == 403


@pytest.fixture
def audited_database(tmp_path: Path) -> str:
    import asyncio

    url = f"sqlite+aiosqlite:///{tmp_path}/audit.db"

    async def fill() -> None:
        async with running_gateway(tmp_path, database_url=url) as h:
            for n in range(3):
                await h.submit(triage(triage_id=f"t-{n}"))

    asyncio.run(fill())
    return url


def _verify(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify", *args], env={"GATEWAY_DATABASE_URL": url})
    return result.exit_code, result.output


def _tamper(url: str, statement: object) -> None:
    import asyncio

    from gateway.store.db import create_engine

    async def run() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(statement)  # type: ignore[arg-type]
        await engine.dispose()

    asyncio.run(run())


def test_intact_log_verifies(audited_database: str) -> None:
    code, output = _verify(audited_database)
    assert code == 0 and "intact" in output


def test_an_edited_entry_is_named(audited_database: str) -> None:
    _tamper(
        audited_database,
        update(audit_log)
        .where(audit_log.c.seq == 4)
        .values(entry=b'{"resourceType": "AuditEvent", "edited": true}'),
    )
    code, output = _verify(audited_database)
    assert code != 0 and "entry 4" in output


def test_a_deleted_entry_is_named(audited_database: str) -> None:
    _tamper(audited_database, delete(audit_log).where(audit_log.c.seq == 5))
    code, output = _verify(audited_database)
    assert code != 0 and "entry" in output


def test_a_truncated_tail_is_caught_against_an_exported_head(
    audited_database: str, tmp_path: Path
) -> None:
    head = CliRunner().invoke(
        app, ["audit", "head"], env={"GATEWAY_DATABASE_URL": audited_database}
    )
    assert head.exit_code == 0
    exported = tmp_path / "head.json"
    exported.write_text(head.output)
    _tamper(
        audited_database,
        delete(audit_log).where(
            audit_log.c.seq
            == select(audit_log.c.seq).order_by(audit_log.c.seq.desc()).limit(1).scalar_subquery()
        ),
    )
    assert _verify(audited_database)[0] == 0  # the chain alone looks fine...
    code, output = _verify(audited_database, "--head", str(exported))
    assert code != 0 and "altered" in output  # ...but not against the head kept outside
