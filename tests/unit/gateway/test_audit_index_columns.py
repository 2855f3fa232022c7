"""``gateway audit verify`` sees an edit to ANY column of ``audit_log``, not only ``entry``.

The index columns are what the accounting of disclosures reads: an edited
``patient_id`` or ``event_type`` would hide a disclosure from the person it concerns.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import running_gateway, triage
from sqlalchemy import select, update
from typer.testing import CliRunner

from gateway.cli import app
from gateway.store.db import create_engine
from gateway.store.tables import audit_log

SEQ = 3


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "pristine.db"

    async def fill() -> None:
        async with running_gateway(path.parent, database_url=f"sqlite+aiosqlite:///{path}") as h:
            for n in range(2):
                await h.submit(triage(triage_id=f"t-{n}"))

    asyncio.run(fill())
    return path


def _copy(pristine: Path, tmp_path: Path) -> str:
    target = tmp_path / "audit.db"
    target.write_bytes(pristine.read_bytes())
    return f"sqlite+aiosqlite:///{target}"


def _run(url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _verify(url: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify"], env={"GATEWAY_DATABASE_URL": url})
    return result.exit_code, result.output


def _edit(row: Any, column: str) -> object:
    value = getattr(row, column)
    if column == "recorded_at":
        return value - timedelta(hours=1)
    if column == "event_type":
        return "import" if value != "import" else "consent-decision"
    return None if value is not None else "00000000-0000-0000-0000-000000000000"


# Columns the chain itself is made of: an edit there is covered by test_audit_surface.
CHAIN_COLUMNS = {"seq", "entry", "leaf_hash", "chain_hash"}
INDEX_COLUMNS = ["recorded_at", "event_type", "referral_id", "patient_id"]


def test_every_column_of_the_table_is_covered_below() -> None:
    assert {c.name for c in audit_log.columns} - CHAIN_COLUMNS == set(INDEX_COLUMNS)


@pytest.mark.parametrize("column", INDEX_COLUMNS)
def test_an_edited_index_column_is_named_as_the_first_bad_entry(
    pristine: Path, tmp_path: Path, column: str
) -> None:
    url = _copy(pristine, tmp_path)
    assert _verify(url)[0] == 0

    async def tamper(conn: Any) -> None:
        row = (await conn.execute(select(audit_log).where(audit_log.c.seq == SEQ))).one()
        await conn.execute(
            update(audit_log).where(audit_log.c.seq == SEQ).values({column: _edit(row, column)})
        )

    _run(url, tamper)
    code, output = _verify(url)
    assert code != 0
    assert f"entry {SEQ}" in output


def test_a_patient_id_moved_to_another_person_is_caught(pristine: Path, tmp_path: Path) -> None:
    """Hiding a disclosure by pointing its index at a different person's id."""
    url = _copy(pristine, tmp_path)

    async def tamper(conn: Any) -> int:
        rows = (await conn.execute(select(audit_log).order_by(audit_log.c.seq))).all()
        ids = {r.patient_id for r in rows if r.patient_id}
        target = next(r for r in rows if r.event_type == "disclosure" or r.patient_id)
        other = next((i for i in ids if i != target.patient_id), "someone-else")
        await conn.execute(
            update(audit_log).where(audit_log.c.seq == target.seq).values(patient_id=other)
        )
        return int(target.seq)

    seq = _run(url, tamper)
    code, output = _verify(url)
    assert code != 0 and f"entry {seq}" in output
