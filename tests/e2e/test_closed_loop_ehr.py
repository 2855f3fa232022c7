"""Closing the loop end to end, over real HTTP: a triage app submits to a running gateway
(``gateway serve``), the worker delivers to a real EHR (sekmet-fhir), the gateway
subscribes on the EHR (rest-hook), the recipient moves the Task on the EHR through
accepted, in-progress and completed, and

- the app's webhook listener (a real HTTP server) receives each status change exactly
  once, each with a Standard Webhooks signature it verifies;
- a clinician system's Subscription listener receives the handshake, events and a
  heartbeat (period 1 s);
- ``GET /referrals/{id}`` shows the Task completed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import APP_SCOPES, client_assertion
from joserfc.jwk import ECKey
from live_gateway import LiveGateway, serving_gateway, write_gateway_files
from sekmet import Ehr, ehr_destination, routed_to_ehr, unique_triage

from connectors.webhooks import verify
from gateway.referral_loop.subscriptions import (
    FILTER_CRITERIA,
    HEARTBEAT_PERIOD,
    PAYLOAD_CONTENT,
    TOPIC,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CLINIC_SCOPE = "system/Subscription.c system/Subscription.r system/Task.rs"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Listener:
    """A real HTTP server on 127.0.0.1 that records every POST/PUT and answers 200."""

    url: str
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait(self, path: str, done: Callable[[list[Received]], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done(self.at(path)):
                return
            time.sleep(0.05)
        raise AssertionError(f"{path}: not there in {timeout} s: {self.at(path)}")


@pytest.fixture
def listener() -> Iterator[Listener]:
    received: list[Received] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            with lock:
                received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        do_POST = _record
        do_PUT = _record

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Listener(f"http://127.0.0.1:{server.server_address[1]}", received, lock)
    finally:
        server.shutdown()
        server.server_close()


def _config(ehr: Ehr, listener: Listener) -> Callable[[dict[str, ECKey]], dict[str, Any]]:
    destination = {
        **ehr_destination(ehr),
        "status_sync": {"mode": "subscription", "poll_seconds": 900},
        "clients": ["app-b"],
    }
    base = routed_to_ehr(destination)

    def build(keys: dict[str, ECKey]) -> dict[str, Any]:
        config = base(keys)
        config["clients"][0]["webhook"] = {"url": f"{listener.url}/app-hooks", "secret": SECRET}
        config["clients"][1]["scopes"] = [*APP_SCOPES, *CLINIC_SCOPE.split()]
        config["outbound"] = {"allow_private": ["127.0.0.0/8"]}
        return config

    return build


def _token(gateway: LiveGateway, client_id: str, scope: str) -> str:
    token_url = f"{gateway.url}/auth/token"
    response = httpx.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(
                gateway.files.keys[client_id], client_id, token_url
            ),
            "scope": scope,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _subscription(endpoint: str) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Referrals for the county clinic",
        "criteria": TOPIC,
        "_criteria": {
            "extension": [
                {"url": FILTER_CRITERIA, "valueString": "Task?owner=Organization/county-ehr"}
            ]
        },
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "full-resource"}]},
            "header": ["Authorization: Bearer clinic-inbound"],
            "extension": [{"url": HEARTBEAT_PERIOD, "valueUnsignedInt": 1}],
        },
    }


def _notification_type(received: Received) -> str:
    parameters = json.loads(received.body)["entry"][0]["resource"]["parameter"]
    return str(next(p["valueCode"] for p in parameters if p["name"] == "type"))


def _app_events(listener: Listener) -> list[dict[str, Any]]:
    events = []
    for received in listener.at("/app-hooks"):
        verify(SECRET, received.headers, received.body, now=int(time.time()))
        events.append({**json.loads(received.body), "id": received.headers["webhook-id"]})
    return [e for e in events if e["data"]["destination"] == "county-ehr"]


def _statuses(listener: Listener) -> list[str]:
    return [e["data"]["status"] for e in _app_events(listener)]


def _statuses_are(listener: Listener, expected: list[str]) -> Callable[[list[Received]], bool]:
    return lambda _: _statuses(listener) == expected


def _move_on_ehr(ehr: Ehr, task_id: str, status: str) -> None:
    task = ehr.read("Task", task_id)
    response = httpx.put(
        f"{ehr.base_url}/Task/{task_id}",
        json={**task, "status": status},
        headers={"Content-Type": "application/fhir+json"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text


def test_one_referral_from_triage_to_completed_on_the_ehr(
    tmp_path: Path, ehr: Ehr, listener: Listener
) -> None:
    files = write_gateway_files(
        tmp_path, _config(ehr, listener), f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    )
    with serving_gateway(files) as gateway:
        clinic = {"Authorization": f"Bearer {_token(gateway, 'app-b', CLINIC_SCOPE)}"}
        created = httpx.post(
            f"{gateway.url}/fhir/Subscription",
            json=_subscription(f"{listener.url}/clinic"),
            headers=clinic,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        listener.wait("/clinic", lambda got: any(_notification_type(r) == "handshake" for r in got))
        (handshake,) = listener.at("/clinic")
        assert handshake.headers["Authorization"] == "Bearer clinic-inbound"

        submitted = gateway.submit(unique_triage("minimal-patient"))
        assert submitted.status_code == 202, submitted.text
        location = submitted.headers["location"]
        view = gateway.wait_for(
            location,
            lambda v: any(
                d["destination"] == "county-ehr" and d["status"] == "delivered"
                for d in v["deliveries"]
            ),
        )
        delivery = next(d for d in view["deliveries"] if d["destination"] == "county-ehr")
        remote_task = delivery["receipt"]["remote_ids"]["Task"]
        listener.wait("/app-hooks", lambda _: _statuses(listener) == ["requested"])

        expected = ["requested"]
        for status in ("accepted", "in-progress", "completed"):
            _move_on_ehr(ehr, remote_task, status)
            expected.append(status)
            listener.wait("/app-hooks", _statuses_are(listener, list(expected)))

        final = gateway.wait_for(location, lambda v: v["status"] == "completed")
        delivery = next(d for d in final["deliveries"] if d["destination"] == "county-ehr")
        assert delivery["task"]["status"] == "completed"

        events = _app_events(listener)
        assert len({e["id"] for e in events}) == len(events) == 4
        assert all(e["data"]["referral_id"] == final["referral_id"] for e in events)

        def clinic_saw_completion(got: list[Received]) -> bool:
            kinds = {_notification_type(r) for r in got}
            return {"heartbeat", "event-notification"} <= kinds and any(
                _notification_type(r) == "event-notification"
                and json.loads(r.body)["entry"][1]["resource"]["status"] == "completed"
                for r in got
            )

        # The clinic's notifications go through their own queue: wait for the last one.
        listener.wait("/clinic", clinic_saw_completion, timeout=20)
        clinic_events = [
            r for r in listener.at("/clinic") if _notification_type(r) == "event-notification"
        ]
        tasks = [json.loads(r.body)["entry"][1]["resource"] for r in clinic_events]
        assert tasks[0]["status"] == "requested"
        assert tasks[-1]["status"] == "completed"
