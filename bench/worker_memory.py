"""Memory of a delivery worker after 10,000 deliveries against its memory at start.

The worker runs in-process on SQLite WAL (or ``--database-url``) and delivers to the
package's mock connector (no EHR: 10,000 real EHR round trips would measure the EHR,
not the worker). Every delivery still goes through the whole worker path: claim,
consent re-check, minimisation, Task, audit entry, outcome. The outbox is filled by
copying one accepted referral's delivery row. Prints resident set size (VmRSS) after
a warm-up and after all deliveries.

    .venv/bin/python bench/worker_memory.py [--deliveries 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests" / "support")]
from harness import running_gateway  # noqa: E402
from outbox_fill import accept, copy_deliveries, routine_triage  # noqa: E402

from connectors.mock import MockConnector  # noqa: E402
from gateway.logging import configure_logging  # noqa: E402

WARM_UP = 200


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class CountingMock(MockConnector):
    """Keeps a count, not every delivery (the stock mock records each one for tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def deliver(self, delivery):  # type: ignore[no-untyped-def]
        self.count += 1
        receipt = await super().deliver(delivery)
        self.attempts.clear()
        self.delivered.clear()
        return receipt


async def main(total: int, database_url: str | None) -> None:
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        mock = CountingMock()
        async with running_gateway(Path(tmp), database_url=database_url) as h:
            for name in list(h.gateway.worker.connectors):
                h.gateway.worker.connectors[name] = mock
            accepted = await accept(h, routine_triage())
            await copy_deliveries(h, accepted["referral_id"], total - 1)
            await h.gateway.worker.drain(limit=WARM_UP)
            gc.collect()
            at_start = rss_mib()
            started = time.monotonic()
            done = await h.gateway.worker.drain(limit=total)
            elapsed = time.monotonic() - started
            gc.collect()
            at_end = rss_mib()
    print(f"backend: {'postgresql' if database_url else 'sqlite (WAL, synchronous=FULL)'}")
    print(
        f"deliveries: {WARM_UP} warm-up + {done} measured ({mock.count} in all), "
        f"{done / elapsed:.0f}/s through the whole worker path with a mock connector"
    )
    print(
        f"worker RSS after warm-up: {at_start:.1f} MiB; after {mock.count} deliveries: "
        f"{at_end:.1f} MiB; growth {at_end - at_start:+.1f} MiB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.deliveries, args.database_url))
