"""Crash safety: ``gateway worker`` processes are killed with SIGKILL at chosen points
(after a claim; after the EHR answered but before the outcome was stored) and started
again. Every referral ends delivered, with exactly one ServiceRequest and one Task per
referral on the real EHR, none lost.

The kill comes from the test-only hook ``GATEWAY_TEST_CRASH_AT`` (the worker sends
itself SIGKILL at that point); a 1 s lease (``GATEWAY_WORKER_LEASE_SECONDS``) lets the
restarted worker take over the dead one's claim without a long wait.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
from harness import running_gateway
from live_gateway import GatewayFiles, run_worker, start_worker, write_gateway_files
from sekmet import (
    Ehr,
    ehr_destination,
    identifier_query,
    routed_to_ehr,
    stop_process,
    unique_triage,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.store.tables import deliveries

pytestmark = pytest.mark.integration

LEASE = "1"


async def _submit(tmp_path: Path, files: GatewayFiles, count: int) -> list[dict[str, Any]]:
    """Accept ``count`` referrals into the shared database (no worker runs here)."""
    bodies = [unique_triage("minimal-patient") for _ in range(count)]
    config = routed_to_ehr(*_destinations(files))
    intake = tmp_path / "intake"
    intake.mkdir(exist_ok=True)
    async with running_gateway(intake, database_url=files.database_url, config=config) as h:
        for body in bodies:
            assert (await h.submit(body)).status_code == 202
    return bodies


def _destinations(files: GatewayFiles) -> list[dict[str, Any]]:
    import yaml

    config = yaml.safe_load(files.config_file.read_text())
    return [d for d in config["destinations"] if d["type"] == "fhir"]


async def _rows(database_url: str) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(select(deliveries)))
    finally:
        await engine.dispose()


def _exactly_once_on_ehr(ehr: Ehr, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        identifier = identifier_query(body["patient"]["identifiers"][0])
        (patient,) = ehr.search("Patient", identifier=identifier)
        assert len(ehr.search("ServiceRequest", patient=f"Patient/{patient['id']}")) == 1
        assert len(ehr.search("Task", patient=f"Patient/{patient['id']}")) == 1


def _on_ehr(ehr: Ehr, body: dict[str, Any]) -> bool:
    identifier = identifier_query(body["patient"]["identifiers"][0])
    return bool(ehr.search("Patient", identifier=identifier))


@pytest.mark.parametrize("crash_at", ["after-claim", "after-deliver"])
async def test_killed_worker_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, ehr: Ehr, database_url: str, crash_at: str
) -> None:
    files = write_gateway_files(tmp_path, routed_to_ehr(ehr_destination(ehr)), database_url)
    bodies = await _submit(tmp_path, files, 3)

    code = run_worker(files, test_crash_at=crash_at, worker_lease_seconds=LEASE)
    assert code == -signal.SIGKILL
    (claimed,) = [r for r in await _rows(database_url) if r.status == "delivering"]
    reached_ehr = [b for b in bodies if _on_ehr(ehr, b)]
    assert len(reached_ehr) == (1 if crash_at == "after-deliver" else 0)

    time.sleep(float(LEASE) + 0.2)  # the dead worker's lease runs out
    assert run_worker(files, worker_lease_seconds=LEASE) == 0

    rows = await _rows(database_url)
    assert [r.status for r in rows] == ["delivered"] * 3
    retaken = next(r for r in rows if r.id == claimed.id)
    assert retaken.attempts == 2  # the claim that died counts as an attempt
    _exactly_once_on_ehr(ehr, bodies)


async def test_two_workers_take_over_from_a_killed_one(
    tmp_path: Path, ehr: Ehr, pg_database_url: str
) -> None:
    """On PostgreSQL a worker dies after the EHR answered; two workers then share the
    outbox (``FOR UPDATE SKIP LOCKED``) and deliver everything, the dead one's claim
    included, once each."""
    files = write_gateway_files(tmp_path, routed_to_ehr(ehr_destination(ehr)), pg_database_url)
    bodies = await _submit(tmp_path, files, 8)
    assert run_worker(files, test_crash_at="after-deliver", worker_lease_seconds=LEASE) == (
        -signal.SIGKILL
    )
    time.sleep(float(LEASE) + 0.2)
    workers = [start_worker(files, worker_lease_seconds="30") for _ in range(2)]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(r.status == "delivered" for r in await _rows(pg_database_url)):
                break
            time.sleep(0.2)
    finally:
        for worker in workers:
            stop_process(worker)
    rows = await _rows(pg_database_url)
    assert [r.status for r in rows] == ["delivered"] * 8
    assert sorted(r.attempts for r in rows) == [1] * 7 + [2]
    _exactly_once_on_ehr(ehr, bodies)
