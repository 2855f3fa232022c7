"""Delivery throughput to a real EHR (sekmet-fhir on loopback), one and two workers.

Accepts N referrals (one EHR delivery each) through the real intake, then starts
``gateway worker`` processes against the same database and measures referrals
delivered per second, from the first attempt's start to the last attempt's end (the
workers' start-up is not counted). Runs on SQLite WAL, and on PostgreSQL when one
answers at ``--postgres`` (two workers claim with ``FOR UPDATE SKIP LOCKED`` there;
on SQLite claims serialise). After the one-worker SQLite run, the baseline in the
same run: a plain client posting the same stored transaction Bundles to a fresh
sekmet-fhir 4 at a time (target: one worker >= 80% of it). Bounded, loopback only.

    .venv/bin/python bench/delivery_throughput.py [--referrals 300] [--workers 1,2]
        [--postgres URL|none] [--py-spy DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests" / "support")]
from harness import running_gateway  # noqa: E402
from live_gateway import GatewayFiles, start_worker, write_gateway_files  # noqa: E402
from sekmet import (  # noqa: E402
    Ehr,
    ehr_destination,
    routed_to_ehr,
    start_sekmet,
    stop_process,
    unique_triage,
)

from connectors.capability import read_capability  # noqa: E402
from connectors.fhir import adapt_bundle  # noqa: E402
from gateway.logging import configure_logging  # noqa: E402
from gateway.store.tables import deliveries, delivery_attempts, referrals  # noqa: E402


async def fill(directory: Path, files: GatewayFiles, ehr: Ehr, count: int) -> None:
    intake = directory / "intake"
    intake.mkdir()
    config = routed_to_ehr(ehr_destination(ehr))
    async with running_gateway(intake, database_url=files.database_url, config=config) as h:
        for _ in range(count):
            response = await h.submit(unique_triage("minimal-patient"))
            assert response.status_code == 202, response.text


async def progress(database_url: str) -> tuple[int, int, float]:
    """(delivered, all, seconds from the first attempt's start to the last one's end)"""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            delivered = (
                await conn.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(deliveries.c.status == "delivered")
                )
            ).scalar_one()
            total = (await conn.execute(select(func.count()).select_from(deliveries))).scalar_one()
            first, last = (
                await conn.execute(
                    select(
                        func.min(delivery_attempts.c.started_at),
                        func.max(delivery_attempts.c.finished_at),
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    span = (last - first).total_seconds() if first and last else 0.0
    return int(delivered), int(total), span


def attach_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy at 200 Hz on one worker, raw collapsed stacks (bench/profile_stages.py)."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
            "--pid",
            str(pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def sent_bundles(database_url: str) -> list[bytes]:
    """The Bundles the gateway stored for its referrals: what a plain client posts."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(referrals.c.bundle))).scalars())
    finally:
        await engine.dispose()


async def plain_client(ehr: Ehr, bundles: list[bytes], concurrency: int = 4) -> float:
    """Post ``bundles`` to ``ehr`` as transactions, ``concurrency`` at a time, on one
    keep-alive client: the baseline a worker is measured against. Bundles per second."""
    limit = asyncio.Semaphore(concurrency)
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    async with httpx.AsyncClient(timeout=60) as client:
        # As the worker, it learns the server once and makes each entry idempotent on it.
        abilities = read_capability((await client.get(f"{ehr.base_url}/metadata")).json())
        bundles = [orjson.dumps(adapt_bundle(orjson.loads(b), abilities)) for b in bundles]

        async def post(bundle: bytes) -> None:
            async with limit:
                response = await client.post(ehr.base_url, content=bundle, headers=headers)
                response.raise_for_status()

        started = time.monotonic()
        await asyncio.gather(*(post(b) for b in bundles))
        return len(bundles) / (time.monotonic() - started)


async def run(
    label: str,
    database_url: str,
    ehr: Ehr,
    referrals: int,
    workers: int,
    py_spy: str | None = None,
    baseline: bool = False,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        files = write_gateway_files(directory, routed_to_ehr(ehr_destination(ehr)), database_url)
        await fill(directory, files, ehr, referrals)
        processes = [start_worker(files, log_level="WARNING") for _ in range(workers)]
        spies = (
            [
                attach_py_spy(p.pid, Path(py_spy) / f"delivery-{label[:6]}-{workers}-{n}.txt")
                for n, p in enumerate(processes)
            ]
            if py_spy
            else []
        )
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                delivered, total, span = await progress(database_url)
                if delivered == total:
                    break
                await asyncio.sleep(0.5)
        finally:
            for process in processes:
                stop_process(process)
            for spy in spies:
                spy.wait(30)
        rate = delivered / span if span else 0.0
        print(
            f"{label}, {workers} worker(s): {delivered}/{total} referrals in {span:.1f} s "
            f"= {rate:.1f} referrals/s"
        )
        if baseline:  # the same Bundles, to a fresh server of the same kind, 4 at a time
            bundles = await sent_bundles(database_url)
            with start_sekmet(directory / "plain-sekmet") as plain_ehr:
                plain = await plain_client(plain_ehr, bundles)
            print(
                f"  plain client, 4 at a time, same Bundles to a fresh sekmet-fhir: "
                f"{plain:.1f}/s; worker = {rate / plain:.0%} of it (target >= 80%)"
            )


async def admin(admin_url: str, statement: str) -> bool:
    try:
        conn = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
    return True


async def main(referrals: int, postgres: str, counts: list[int], py_spy: str | None) -> None:
    configure_logging("WARNING")
    print(f"machine: {os.cpu_count()} cores; EHR: sekmet-fhir on loopback")
    with tempfile.TemporaryDirectory() as tmp, start_sekmet(Path(tmp) / "sekmet") as ehr:
        for workers in counts:
            sqlite = f"sqlite+aiosqlite:///{tmp}/bench-{workers}.db"
            await run("sqlite (WAL)", sqlite, ehr, referrals, workers, py_spy, workers == 1)
        server = postgres.removeprefix("postgresql://").rsplit("/", 1)[0]
        for workers in counts if postgres != "none" else ():
            name = f"bench_{uuid.uuid4().hex[:12]}"
            if not await admin(postgres, f'CREATE DATABASE "{name}"'):
                print(f"postgresql: no server at {postgres}, skipped")
                break
            try:
                url = f"postgresql+asyncpg://{server}/{name}"
                await run("postgresql", url, ehr, referrals, workers)
            finally:
                await admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=300)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--py-spy", metavar="DIR", help="record a py-spy profile per worker")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    asyncio.run(main(args.referrals, args.postgres, counts, args.py_spy))
