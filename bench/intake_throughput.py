"""Accepted triage submissions per second and p50/p99 latency, against the ceiling.

Starts the gateway (``gateway serve``, SQLite WAL with synchronous=FULL, so every
202 is durable; worker off so only intake is measured) and, in the same run, a
trivial FastAPI POST endpoint served the same way (uvicorn, uvloop, httptools);
drives both with the same keep-alive load generator on loopback, and prints both
rates and their ratio. Target (issue 2): gateway >= 25% of the ceiling on one
worker, p99 < 50 ms at 16 concurrent clients.

    .venv/bin/python bench/intake_throughput.py [--requests 4000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import run_load

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    template = triage_template()

    def body_for(n: int) -> bytes:
        # Each submission is a different person (a returning person costs one more update).
        template["triage_id"] = f"bench-{run_id}-{n}"
        template["patient"]["identifiers"][0]["value"] = f"p-{run_id}-{n}"
        return json.dumps(template).encode()

    run_id = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key = ECKey.generate_key("P-384", parameters={"kid": "bench-1"})
        signing = tmp / "signing.pem"
        signing.write_bytes(ECKey.generate_key("P-384").as_pem(private=True))
        port = free_port()
        env = {
            **os.environ,
            "GATEWAY_CONFIG": str(write_config(tmp, key)),
            "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "GATEWAY_SIGNING_KEY_FILE": str(signing),
            "GATEWAY_PORT": str(port),
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_MAX_CONCURRENT_REQUESTS": "256",
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
            headers = {
                "Authorization": f"Bearer {token(base, key)}",
                "Content-Type": "application/json",
            }
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
            gateway = asyncio.run(
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
            server.terminate()
            server.wait(10)

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
            ceiling = asyncio.run(
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

    print(f"machine: {os.cpu_count()} cores; concurrency {args.concurrency}")
    print(gateway.line("gateway intake (durable, SQLite WAL)"))
    print(ceiling.line("trivial FastAPI POST (ceiling)     "))
    print(
        f"ratio: {gateway.per_second / ceiling.per_second:.1%} of the ceiling "
        f"(target >= 25%); gateway p99 {gateway.percentile(99):.1f} ms (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
