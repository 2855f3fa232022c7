"""The gateway as real processes: ``gateway serve`` and ``gateway worker`` in subprocesses.

For end-to-end and crash tests::

    files = write_gateway_files(tmp_path, routed_to_ehr(ehr_destination(ehr)), database_url)
    with serving_gateway(files) as gw:          # uvicorn on a free loopback port
        response = gw.submit(unique_triage())   # a real SMART token, over HTTP
    run_worker(files, once=True)                # `gateway worker --once`, waits for it

Settings reach the processes only as ``GATEWAY_*`` environment variables and the
YAML file, as in production.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from harness import APP_SCOPES, OPERATOR_SCOPES, client_assertion, new_key
from joserfc.jwk import ECKey
from sekmet import free_port, stop_process

GATEWAY = Path(sys.executable).with_name("gateway")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class GatewayFiles:
    """What a gateway process is started from."""

    directory: Path
    config_file: Path
    signing_key_file: Path
    database_url: str
    keys: dict[str, ECKey]

    def env(self, **settings: str) -> dict[str, str]:
        """The process environment: ``GATEWAY_*`` variables (``settings`` keys are the
        names without the prefix, e.g. ``worker_lease_seconds="1"``)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(
            {
                "GATEWAY_ENV": "test",
                "GATEWAY_CONFIG": str(self.config_file),
                "GATEWAY_DATABASE_URL": self.database_url,
                "GATEWAY_SIGNING_KEY_FILE": str(self.signing_key_file),
                "GATEWAY_LOG_LEVEL": "INFO",
                "GATEWAY_WORKER_POLL_SECONDS": "0.1",
            }
        )
        env.update({f"GATEWAY_{k.upper()}": v for k, v in settings.items()})
        return env


def write_gateway_files(
    directory: Path,
    config: Callable[[dict[str, ECKey]], dict[str, Any]],
    database_url: str,
) -> GatewayFiles:
    directory.mkdir(parents=True, exist_ok=True)
    keys = {name: new_key(f"{name}-1") for name in ("app-a", "app-b", "operator")}
    config_file = directory / "gateway.yaml"
    config_file.write_text(yaml.safe_dump(config(keys)))
    signing_key_file = directory / "signing-key.pem"
    signing_key_file.write_bytes(new_key("gateway-1").as_pem(private=True))
    return GatewayFiles(directory, config_file, signing_key_file, database_url, keys)


@dataclass
class LiveGateway:
    url: str
    files: GatewayFiles
    process: subprocess.Popen[bytes]
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, client_id: str = "app-a") -> str:
        """A token obtained the SMART Backend Services way, from the gateway itself."""
        if client_id not in self._tokens:
            scopes = OPERATOR_SCOPES if client_id == "operator" else APP_SCOPES
            token_url = f"{self.url}/auth/token"
            response = httpx.post(
                token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": (
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                    ),
                    "client_assertion": client_assertion(
                        self.files.keys[client_id], client_id, token_url
                    ),
                    "scope": " ".join(scopes),
                },
                timeout=10,
            )
            assert response.status_code == 200, response.text
            self._tokens[client_id] = str(response.json()["access_token"])
        return self._tokens[client_id]

    def submit(self, body: dict[str, Any], client_id: str = "app-a") -> httpx.Response:
        return httpx.post(
            f"{self.url}/triage-results",
            json=body,
            headers={"Authorization": f"Bearer {self.token(client_id)}"},
            timeout=10,
        )

    def get(self, path: str, client_id: str = "app-a") -> httpx.Response:
        return httpx.get(
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {self.token(client_id)}"},
            timeout=10,
        )

    def wait_for(
        self, path: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        """Poll ``path`` until ``done(body)``; the last body, or AssertionError."""
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = self.get(path)
            assert response.status_code == 200, response.text
            body = response.json()
            if done(body):
                return body
            time.sleep(0.1)
        raise AssertionError(f"{path} did not get there in {timeout} s: {body}")


@contextlib.contextmanager
def serving_gateway(files: GatewayFiles, **settings: str) -> Iterator[LiveGateway]:
    """``gateway serve`` (with its in-process worker) on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = files.env(host="127.0.0.1", port=str(port), public_url=url, **settings)
    log = (files.directory / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [str(GATEWAY), "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_healthy(url, process, files.directory / f"serve-{port}.log")
        yield LiveGateway(url=url, files=files, process=process)
    finally:
        stop_process(process)
        log.close()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"gateway did not start: {log.read_text(errors='replace')[-3000:]}")


def start_worker(
    files: GatewayFiles, *, once: bool = False, **settings: str
) -> subprocess.Popen[bytes]:
    """``gateway worker`` in a subprocess (``settings`` as for ``GatewayFiles.env``)."""
    log = files.directory / f"worker-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(GATEWAY), "worker", *(["--once"] if once else [])],
            cwd=ROOT, env=files.env(**settings), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_worker(files: GatewayFiles, *, timeout: float = 60.0, **settings: str) -> int:
    """Run ``gateway worker --once`` to the end; its exit code (negative: killed by signal)."""
    process = start_worker(files, once=True, **settings)
    try:
        return process.wait(timeout)
    finally:
        stop_process(process)
