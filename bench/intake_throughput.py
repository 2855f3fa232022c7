"""Accepted triage submissions per second and p50/p99 latency, against the ceiling.

Starts the gateway (``gateway serve``, SQLite WAL with synchronous=FULL, so every
202 is durable) and, in the same run, a
trivial FastAPI POST endpoint served the same way (uvicorn, uvloop, httptools);
drives both with the same keep-alive load generator on loopback, and prints both
rates and their ratio. Two gateway modes, each in its own fresh database: API-only
(``--no-worker``; target >= 25% of the ceiling, p99 < 50 ms at 16 clients) and the
embedded default (``gateway serve`` with its worker delivering every referral while
intake runs; target >= 15%, p99 < 100 ms). ``--py-spy DIR`` records a profile of
each gateway run (py-spy at 200 Hz, raw collapsed stacks; ``pip install py-spy``).

    .venv/bin/python bench/intake_throughput.py [--requests 4000] [--concurrency 16]
        [--mode both|api-only|embedded] [--py-spy DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Result, run_load

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def write_config(tmp: Path, key: ECKey) -> Path:
    config = {
        "clients": [
            {
                "client_id": "bench-app",
                "jwks": {"keys": [key.as_dict(private=False)]},
                "scopes": ["system/ServiceRequest.c"],
            }
        ],
        "destinations": [
            {"name": "inbox", "type": "inbox"},
            {"name": "crisis-desk", "type": "crisis"},
        ],
        "routing": [{"name": "fallback", "send_to": ["inbox"]}],
    }
    path = tmp / "config.yaml"
    path.write_text(json.dumps(config))
    return path


def token(base: str, key: ECKey) -> str:
    now = int(time.time())
    assertion = jwt.encode(
        {"alg": "ES384", "kid": key.kid, "typ": "JWT"},
        {
            "iss": "bench-app",
            "sub": "bench-app",
            "aud": f"{base}/auth/token",
            "exp": now + 240,
            "iat": now,
            "jti": uuid.uuid4().hex,
        },
        key,
        algorithms=["ES384"],
    )
    response = httpx.post(
        f"{base}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": "system/ServiceRequest.c",
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def triage_template() -> dict:  # type: ignore[type-arg]
    body = json.loads((ROOT / "tests/fixtures/triage/contract-example.json").read_text())
    body["assessments"][0]["answers"][8] = 0  # routine: no crisis route
    return body


def measure_gateway(
    tmp: Path, key: ECKey, body_for: Callable[[int], bytes], args: argparse.Namespace, mode: str
) -> Result:
    """Start ``gateway serve`` (``mode`` "api-only": ``--no-worker``; "embedded": with
    its worker, delivering every referral to the in-gateway inbox), warm it, load it."""
    signing = tmp / "signing.pem"
    if not signing.exists():
        signing.write_bytes(ECKey.generate_key("P-384").as_pem(private=True))
    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_CONFIG": str(write_config(tmp, key)),
        "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench-{mode}.db",
        "GATEWAY_SIGNING_KEY_FILE": str(signing),
        "GATEWAY_PORT": str(port),
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_MAX_CONCURRENT_REQUESTS": "256",
    }
    command = [str(BIN / "gateway"), "serve"] + (["--no-worker"] if mode == "api-only" else [])
    if args.py_spy:
        # Profile the whole tree (the embedded worker may be a child process), 200 Hz.
        out = Path(args.py_spy) / f"intake-{mode}.txt"
        command = [
            str(BIN / "py-spy"),
            "record",
            "-r",
            "200",
            "--subprocesses",
            "-f",
            "raw",
            "-o",
            str(out),
            "--",
            *command,
        ]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/healthz")
        headers = {"Authorization": f"Bearer {token(base, key)}"}
        asyncio.run(
            run_load(
                "127.0.0.1",
                port,
                "/triage-results",
                body_for,
                headers=headers,
                total=200,
                concurrency=4,
                ok_status=202,
            )
        )  # warm-up
        return asyncio.run(
            run_load(
                "127.0.0.1",
                port,
                "/triage-results",
                body_for,
                headers=headers,
                total=args.requests,
                concurrency=args.concurrency,
                ok_status=202,
            )
        )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def measure_trivial(body_for: Callable[[int], bytes], args: argparse.Namespace) -> Result:
    port = free_port()
    trivial = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            "trivial_app:app",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            "--app-dir",
            str(ROOT / "bench"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/docs")
        asyncio.run(
            run_load(
                "127.0.0.1",
                port,
                "/triage-results",
                body_for,
                headers={},
                total=200,
                concurrency=4,
                ok_status=202,
            )
        )
        return asyncio.run(
            run_load(
                "127.0.0.1",
                port,
                "/triage-results",
                body_for,
                headers={},
                total=args.requests * 3,
                concurrency=args.concurrency,
                ok_status=202,
            )
        )
    finally:
        trivial.terminate()
        trivial.wait(10)


TARGETS = {"api-only": (0.25, 50.0), "embedded": (0.15, 100.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--mode",
        choices=["api-only", "embedded", "both"],
        default="both",
        help="api-only: gateway serve --no-worker; embedded: gateway serve (worker on)",
    )
    parser.add_argument("--py-spy", metavar="DIR", help="record a py-spy profile per mode here")
    args = parser.parse_args()
    template = triage_template()
    run_id = uuid.uuid4().hex[:8]

    def body_for(n: int) -> bytes:
        # Each submission is a different person (a returning person costs one more update).
        template["triage_id"] = f"bench-{run_id}-{n}"
        template["patient"]["identifiers"][0]["value"] = f"p-{run_id}-{n}"
        return json.dumps(template).encode()

    modes = ["api-only", "embedded"] if args.mode == "both" else [args.mode]
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key = ECKey.generate_key("P-384", parameters={"kid": "bench-1"})
        for mode in modes:
            run_id = uuid.uuid4().hex[:8]
            results[mode] = measure_gateway(tmp, key, body_for, args, mode)
        ceiling = measure_trivial(body_for, args)

    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
        f"concurrency {args.concurrency}"
    )
    print(ceiling.line("trivial FastAPI POST (ceiling)       "))
    for mode, result in results.items():
        share, p99 = TARGETS[mode]
        print(result.line(f"gateway intake, {mode:<8} (durable)"))
        print(
            f"  ratio: {result.per_second / ceiling.per_second:.1%} of the ceiling "
            f"(target >= {share:.0%}); p99 {result.percentile(99):.1f} ms (target < {p99:.0f} ms)"
        )


if __name__ == "__main__":
    main()
