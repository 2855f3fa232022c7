"""The crisis lane under a backlog: time from accept to first delivery attempt for
imminent-risk referrals while 5,000 routine deliveries wait (target: p99 < 1 s).

The gateway runs in-process with its in-process worker (woken on accept), on SQLite
WAL (default) or PostgreSQL (``--database-url``). Routine deliveries go to the
built-in inbox (real database work per delivery), so the worker is busy the whole
time. The backlog and each crisis referral are accepted through
``POST /triage-results``; the crisis delivery's first attempt is read from the
delivery log. Loopback only.

    .venv/bin/python bench/crisis_lane.py [--backlog 5000] [--crisis 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests" / "support")]
from harness import Harness, running_gateway  # noqa: E402
from outbox_fill import accept, routine_triage  # noqa: E402
from sekmet import unique_triage  # noqa: E402

from gateway.store.tables import deliveries, delivery_attempts, referrals  # noqa: E402


async def first_attempt_delay(h: Harness, referral_id: str) -> float | None:
    async with h.gateway.engine.connect() as conn:
        row = (
            await conn.execute(
                select(referrals.c.created_at, func.min(delivery_attempts.c.started_at))
                .join(deliveries, deliveries.c.referral_id == referrals.c.id)
                .join(delivery_attempts, delivery_attempts.c.delivery_id == deliveries.c.id)
                .where(referrals.c.id == referral_id, deliveries.c.lane == 0)
                .group_by(referrals.c.created_at)
            )
        ).first()
    if row is None or row[1] is None:
        return None
    return float((row[1] - row[0]).total_seconds())


async def pending_routine(h: Harness) -> int:
    async with h.gateway.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(deliveries.c.lane == 2, deliveries.c.status == "pending")
                )
            ).scalar_one()
        )


async def main(backlog: int, crisis: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_gateway(Path(tmp), database_url=database_url) as h:
            started = time.monotonic()
            for _ in range(backlog):
                await accept(h, routine_triage())
            print(f"accepted {backlog} routine referrals in {time.monotonic() - started:.1f} s")
            stop = asyncio.Event()
            await h.gateway.start_worker(stop)
            await asyncio.sleep(0.5)  # the worker is deep in the routine backlog
            delays: list[float] = []
            for _ in range(crisis):
                accepted = await accept(h, unique_triage("imminent-risk"))
                deadline = time.monotonic() + 10
                delay = None
                while delay is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                    delay = await first_attempt_delay(h, accepted["referral_id"])
                if delay is None:
                    raise SystemExit("a crisis delivery was not attempted within 10 s")
                delays.append(delay)
                await asyncio.sleep(0.05)
            waiting = await pending_routine(h)
            stop.set()
    print(f"first crisis referral after start: {delays[0] * 1000:.0f} ms")
    delays.sort()
    print(f"five slowest: {', '.join(f'{d * 1000:.0f}' for d in delays[-5:])} ms")
    p99 = delays[min(len(delays) - 1, round(0.99 * (len(delays) - 1)))]
    print(f"backend: {'postgresql' if database_url else 'sqlite (WAL, synchronous=FULL)'}")
    print(f"routine backlog at start: {backlog}, still waiting at the end: {waiting}")
    print(f"crisis referrals: {len(delays)}")
    print(
        f"accept -> first delivery attempt: p50 {statistics.median(delays) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {delays[-1] * 1000:.1f} ms (target p99 < 1000 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--crisis", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.backlog, args.crisis, args.database_url))
