"""The store on SQLite and PostgreSQL: aware UTC timestamps, the idempotency race (two
identical submissions at once: one referral, one answer), the audit chain's head lock
under concurrent writers, and outbox claims that never hand one row to two workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import running_gateway
from sekmet import unique_triage
from sqlalchemy import func, select

from gateway.operations import verify_audit
from gateway.store.tables import audit_log, deliveries, referrals

pytestmark = pytest.mark.integration


async def test_identical_submissions_racing_store_one_referral(
    tmp_path: Path, database_url: str
) -> None:
    body = unique_triage()
    async with running_gateway(tmp_path, database_url=database_url) as h:
        await h.token()  # one token for all, so the race is on the submission
        responses = await asyncio.gather(*(h.submit(body) for _ in range(6)))
        assert [r.status_code for r in responses] == [202] * 6, [r.text for r in responses]
        assert len({r.content for r in responses}) == 1
        async with h.gateway.engine.connect() as conn:
            stored = (await conn.execute(select(func.count()).select_from(referrals))).scalar()
            outbox = (await conn.execute(select(func.count()).select_from(deliveries))).scalar()
        assert stored == 1
        assert outbox == len(responses[0].json()["routing"])


async def test_audit_chain_holds_under_concurrent_writers(
    tmp_path: Path, database_url: str
) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        await h.token()
        responses = await asyncio.gather(*(h.submit(unique_triage()) for _ in range(8)))
        assert {r.status_code for r in responses} == {202}
        await h.deliver_all()
        async with h.gateway.engine.connect() as conn:
            result = await verify_audit(conn, None)
            seqs = [row[0] for row in await conn.execute(select(audit_log.c.seq))]
    assert result.ok, result
    assert sorted(seqs) == list(range(1, len(seqs) + 1))


async def test_timestamps_come_back_aware_utc(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        before = datetime.now(UTC) - timedelta(seconds=1)
        assert (await h.submit(unique_triage())).status_code == 202
        async with h.gateway.engine.connect() as conn:
            row = (await conn.execute(select(deliveries))).first()
    assert row is not None
    for moment in (row.created_at, row.next_attempt_at, row.updated_at):
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
        assert moment >= before


async def test_concurrent_claims_never_share_a_row(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        for _ in range(5):
            assert (await h.submit(unique_triage("minimal-patient"))).status_code == 202
        worker = h.gateway.worker
        claims = await asyncio.gather(*(worker.claim() for _ in range(8)))
    taken = [c.delivery_id for c in claims if c is not None]
    assert len(taken) == 5
    assert len(set(taken)) == 5
