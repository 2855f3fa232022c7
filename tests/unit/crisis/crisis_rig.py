"""Shared pieces for the crisis-path tests: config, a settable clock, tokens at that
clock, a webhook receiver behind ``httpx.MockTransport`` and a watcher wired to it."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from harness import (
    APP_SCOPES,
    PUBLIC_URL,
    Harness,
    base_config,
    client_assertion,
    new_key,
    public_jwks,
    triage,
)
from joserfc.jwk import ECKey

from connectors.base import Connector
from connectors.mock import MockConnector
from gateway.crisis.watcher import CrisisWatcher
from gateway.destinations.factories import escalation_senders

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ONCALL = "https://oncall.example.org/hook"
DIRECTOR = "https://director.example.org/hook"


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> datetime:
        """``seconds`` after the start, and the clock set there."""
        self.now = T0 + timedelta(seconds=seconds)
        return self.now


def crisis_config(
    *, url: bool = True, contacts: int = 2, sla: int = 60
) -> Callable[[dict[str, ECKey]], dict[str, Any]]:
    """A crisis line (client ``crisis-service``), escalation contacts and an extra app."""

    def build(keys: dict[str, ECKey]) -> dict[str, Any]:
        keys.setdefault("crisis-service", new_key("crisis-service-1"))
        keys.setdefault("other-app", new_key("other-app-1"))
        config = base_config(keys)
        app_scopes = [*APP_SCOPES, "system/Task.u"]
        for client in config["clients"]:
            if client["client_id"] == "app-a":
                client["scopes"] = app_scopes
        config["clients"] += [
            {
                "client_id": "crisis-service",
                "jwks": public_jwks(keys["crisis-service"]),
                "scopes": ["system/Task.u"],
            },
            {
                "client_id": "other-app",
                "jwks": public_jwks(keys["other-app"]),
                "scopes": app_scopes,
            },
        ]
        steps = [
            {"name": "on-call clinician", "webhook": ONCALL},
            {"name": "clinical director", "webhook": DIRECTOR},
        ][:contacts]
        crisis: dict[str, Any] = {
            "name": "crisis-line",
            "type": "crisis",
            "ack_sla_seconds": sla,
            "client_id": "crisis-service",
        }
        if url:
            crisis.update(url="https://crisis.example.org/hooks", secret=SECRET)
        if steps:
            crisis.update(secret=SECRET, escalation=steps)
        config["destinations"] = [d for d in config["destinations"] if d["type"] != "crisis"] + [
            crisis
        ]
        for rule in config["routing"]:
            rule["send_to"] = ["crisis-line" if t == "crisis-desk" else t for t in rule["send_to"]]
        return config

    return build


def mock_connectors(crisis: MockConnector | None = None) -> dict[str, Connector]:
    return {
        "inbox": MockConnector(),
        "community-inbox": MockConnector(),
        "crisis-line": crisis or MockConnector(),
    }


def imminent(**changes: Any) -> dict[str, Any]:
    return triage("imminent-risk", **changes)


def no_crisis() -> dict[str, Any]:
    """The contract example without its positive item 9: routed to the inbox only."""
    body = triage(triage_id="no-crisis-1")
    body["assessments"][0]["answers"][8] = 0
    body["risk"]["signals"] = []
    return body


async def auth_at(h: Harness, client_id: str, scope: str, clock: FakeClock) -> dict[str, str]:
    """A bearer header for a token obtained at the fake clock's time."""
    response = await h.client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(
                h.keys[client_id],
                client_id,
                f"{PUBLIC_URL}/auth/token",
                now=clock(),
                jti=uuid.uuid4().hex,
            ),
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


OPERATOR = ("operator", "system/*.rs system/Task.u")


async def acknowledge(
    h: Harness,
    referral_id: str,
    clock: FakeClock,
    *,
    who: tuple[str, str] = OPERATOR,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    return await h.client.post(
        f"/referrals/{referral_id}/acknowledge",
        json=body if body is not None else {"by": "Sam Duty, crisis desk"},
        headers=await auth_at(h, *who, clock),
    )


async def submit_delivered(
    h: Harness, clock: FakeClock, body: dict[str, Any], client_id: str = "app-a"
) -> str:
    """Submit ``body`` as ``client_id`` at the fake time and run the worker; the referral id."""
    response = await h.client.post(
        "/triage-results",
        content=json.dumps(body).encode(),
        headers={
            **await auth_at(h, client_id, " ".join(APP_SCOPES), clock),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 202, response.text
    await h.deliver_all()
    return str(response.json()["referral_id"])


class Receiver:
    """Answers escalation webhooks with scripted statuses per URL (200 by default)."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing or set()
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500 if str(request.url) in self.failing else 204)

    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def watcher(h: Harness, receiver: Receiver, clock: FakeClock) -> CrisisWatcher:
    ports = escalation_senders(
        h.gateway.config,
        lambda _d: httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
        clock,
    )
    return CrisisWatcher(
        h.gateway.engine,
        h.gateway.config,
        ports=ports,
        audit=h.gateway.services.audit,
        metrics=h.gateway.services.metrics,
        clock=clock,
        public_url=PUBLIC_URL,
    )
