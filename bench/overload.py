"""Overload: 128 clients posting triage results far past capacity for 10 s.

Starts ``gateway serve --no-worker`` (durable SQLite WAL, synchronous=FULL) and
drives it from ``--concurrency`` keep-alive connections for ``--seconds``, of which
``--urgent-clients`` send only imminent-risk submissions (the rest routine ones).
Prints per status the count and p99 latency (targets: accepted p99 < 1 s, shed 503
p99 < 100 ms, only 202 and 503), the share shed, whether every 503 carried
Retry-After, how urgent submissions fared beside routine ones, health right after,
and that exactly the referrals answered 202 are stored. Loopback only, bounded.

    .venv/bin/python bench/overload.py [--seconds 10] [--concurrency 128]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from joserfc.jwk import ECKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake_throughput import BIN, free_port, token, triage_template, wait_ready, write_config
from loadgen import Timed, run_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--urgent-clients", type=int, default=4)
    parser.add_argument(
        "--retry-at-once",
        action="store_true",
        help="clients resend at once after a 503 instead of waiting the Retry-After",
    )
    args = parser.parse_args()
    routine = triage_template()
    routine["risk"]["signals"] = []  # no safety signal: a routine submission
    urgent = triage_template()
    urgent["risk"]["level"] = "imminent"
    run_id = uuid.uuid4().hex[:8]

    def body_for(n: int, connection: int) -> tuple[bytes, bool]:
        is_urgent = connection < args.urgent_clients
        body = urgent if is_urgent else routine
        body["triage_id"] = f"overload-{run_id}-{n}"
        body["patient"]["identifiers"][0]["value"] = f"p-{run_id}-{n}"
        return json.dumps(body).encode(), is_urgent

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key = ECKey.generate_key("P-384", parameters={"kid": "bench-1"})
        signing = tmp / "signing.pem"
        signing.write_bytes(ECKey.generate_key("P-384").as_pem(private=True))
        port = free_port()
        database = tmp / "bench.db"
        env = {
            **os.environ,
            "GATEWAY_CONFIG": str(write_config(tmp, key)),
            "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "GATEWAY_SIGNING_KEY_FILE": str(signing),
            "GATEWAY_PORT": str(port),
            "GATEWAY_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [str(BIN / "gateway"), "serve", "--no-worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(f"{base}/healthz")
            headers = {"Authorization": f"Bearer {token(base, key)}"}
            result = asyncio.run(
                run_for(
                    "127.0.0.1",
                    port,
                    "/triage-results",
                    body_for,
                    headers=headers,
                    seconds=args.seconds,
                    concurrency=args.concurrency,
                    honour_retry_after=not args.retry_at_once,
                )
            )
            started = time.perf_counter()
            health = httpx.get(f"{base}/healthz", timeout=5).status_code
            health_ms = (time.perf_counter() - started) * 1000
            shed_lines = [
                line
                for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines()
                if line.startswith("gateway_intake_shed_total{")
            ]
        finally:
            server.terminate()
            server.wait(20)
        with sqlite3.connect(database) as db:
            stored = db.execute("SELECT count(*) FROM referrals").fetchone()[0]

    report(result, args, health, health_ms, stored)
    print("shed by priority: " + "; ".join(shed_lines))


def report(result: Timed, args: argparse.Namespace, health: int, health_ms: float,
           stored: int) -> None:
    statuses = collections.Counter(status for status, *_ in result.answers)
    total = len(result.answers)
    shed = statuses.get(503, 0)
    retry_after = all(r for s, _, r, _ in result.answers if s == 503)
    behaviour = "resending at once after a 503" if args.retry_at_once else "waiting Retry-After"
    print(
        f"machine: {os.cpu_count()} cores; {args.concurrency} clients for {args.seconds:.0f} s, "
        f"{behaviour}"
    )
    print(f"statuses: {dict(sorted(statuses.items()))} (target: 202 and 503 only)")
    print(
        f"accepted: {statuses.get(202, 0)} = {statuses.get(202, 0) / result.seconds:,.0f}/s, "
        f"p99 {Timed.p99(result.of(202)):.0f} ms (target < 1000 ms)"
    )
    print(
        f"shed: {shed} = {shed / total:.0%} of {total}, p99 {Timed.p99(result.of(503)):.1f} ms "
        f"(target < 100 ms); Retry-After on every 503: {retry_after}"
    )
    for label, urgent in (("urgent", True), ("routine", False)):
        sent = sum(1 for *_, u in result.answers if u is urgent)
        accepted = len(result.of(202, urgent))
        print(f"  {label}: {accepted}/{sent} accepted ({accepted / max(sent, 1):.0%})")
    print(f"health right after: {health} in {health_ms:.0f} ms")
    print(f"stored referrals {stored} == answered 202 {statuses.get(202, 0)}: "
          f"{stored == statuses.get(202, 0)}")


if __name__ == "__main__":
    main()
