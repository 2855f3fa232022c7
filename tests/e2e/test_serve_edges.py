"""`gateway serve` and `gateway demo` at their edges: where it listens and that it
stopped (JSON logs), a demo against nothing, a request cut off by shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from harness import client_assertion, new_key
from joserfc.jwk import ECKey
from live_gateway import GATEWAY, ROOT, GatewayFiles, serving_gateway
from sekmet import free_port


def _files(tmp_path: Path) -> GatewayFiles:
    signing_key = tmp_path / "signing-key.pem"
    signing_key.write_bytes(new_key("gateway-1").as_pem(private=True))
    return GatewayFiles(
        directory=tmp_path,
        config_file=ROOT / "examples" / "gateway.yaml",
        signing_key_file=signing_key,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/edges.db",
        keys={},
    )


def _demo_token(url: str) -> str:
    pem = (ROOT / "examples" / "keys" / "demo-triage-app.DEMO-ONLY.pem").read_bytes()
    key = ECKey.import_key(pem, {"kid": "demo-app-1"})
    answer = httpx.post(
        f"{url}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(key, "demo-triage-app", f"{url}/auth/token"),
            "scope": "system/ServiceRequest.c",
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_demo_against_no_gateway_says_so_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    demo = subprocess.run(
        [str(GATEWAY), "demo", "--url", url], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )
    assert demo.returncode != 0
    output = (demo.stdout + demo.stderr).strip()
    assert len(output.splitlines()) == 1, output
    assert "cannot reach the gateway" in output and url in output
    assert "Traceback" not in output


def test_serve_logs_json_and_answers_a_cut_off_upload_with_503(tmp_path: Path) -> None:
    files = _files(tmp_path)
    with serving_gateway(files) as gateway:
        host, port = gateway.url.removeprefix("http://").split(":")
        token = _demo_token(gateway.url)
        with socket.create_connection((host, int(port)), timeout=30) as upload:
            upload.sendall(
                b"POST /triage-results HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\n"
                b"Content-Length: 100000\r\n\r\n{\"triage_id\": "
            )
            time.sleep(0.5)
            os.killpg(gateway.process.pid, signal.SIGINT)
            answer = b""
            while chunk := upload.recv(65536):
                answer += chunk
        gateway.process.wait(30)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), answer[:300]
    assert b"application/fhir+json" in head.lower()
    assert json.loads(body)["resourceType"] == "OperationOutcome"
    lines = [line for line in (tmp_path / f"serve-{port}.log").read_text().splitlines() if line]
    events = [json.loads(line) for line in lines]  # every line is JSON
    listening = next(e for e in events if e["event"] == "gateway.listening")
    assert f"http://{listening['host']}:{listening['port']}" == gateway.url
    assert events[-1]["event"] == "gateway.stopped"
