"""The closed loop on SQLite and on PostgreSQL: a recipient's update is stored with its
version check, the app webhook and the subscription event are queued on the same
transaction, numbered, and delivered; an accepted Task is never called stalled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import APP_SCOPES, Harness, base_config, public_jwks, running_gateway, triage
from joserfc.jwk import ECKey

from connectors.subscription_notify import SubscriptionNotifier
from connectors.webhooks import WebhookSender, verify
from gateway.delivery.retry import RetryPolicy
from gateway.referral_loop.dispatcher import NotificationDispatcher
from gateway.referral_loop.subscriptions import FILTER_CRITERIA, TOPIC

pytestmark = [pytest.mark.integration]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOOK = "https://app-a.example.org/hooks"
CLINIC = "https://clinic.example.org/notify"
SCOPE = "system/Task.u system/Task.rs system/Subscription.c"


def _config(keys: dict[str, ECKey]) -> dict[str, Any]:
    config = base_config(keys)
    config["clients"][0]["webhook"] = {"url": HOOK, "secret": SECRET}
    config["clients"][1] = {
        "client_id": "app-b",
        "jwks": public_jwks(keys["app-b"]),
        "scopes": [*APP_SCOPES, *SCOPE.split()],
    }
    for destination in config["destinations"]:
        if destination["name"] == "inbox":
            destination["clients"] = ["app-b"]
            destination["stall_after_seconds"] = 1
    return config


def _dispatcher(h: Harness, seen: list[httpx.Request]) -> NotificationDispatcher:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return NotificationDispatcher(
        h.gateway.engine,
        clock=h.gateway.clock,
        webhooks=lambda url, secret: WebhookSender(url, secret, client),
        subscription_notifier=SubscriptionNotifier(client),
        policy=RetryPolicy(),
        public_url="http://gateway.test",
        metrics=h.gateway.services.metrics,
        worker_id="test",
    )


async def test_loop_on_each_database(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url, config=_config) as h:
        clinic = {"Authorization": f"Bearer {await h.token('app-b', SCOPE)}"}
        subscription = {
            "resourceType": "Subscription",
            "status": "requested",
            "reason": "clinic inbox",
            "criteria": TOPIC,
            "_criteria": {"extension": [{"url": FILTER_CRITERIA, "valueString": "owner=inbox"}]},
            "channel": {
                "type": "rest-hook",
                "endpoint": CLINIC,
                "payload": "application/fhir+json",
            },
        }
        created = await h.client.post("/fhir/Subscription", json=subscription, headers=clinic)
        assert created.status_code == 201, created.text
        seen: list[httpx.Request] = []
        dispatcher = _dispatcher(h, seen)
        assert await dispatcher.drain() == 1  # the handshake

        response = await h.submit(triage())
        referral_id = response.json()["referral_id"]
        await h.deliver_all()
        view = (await h.get(f"/referrals/{referral_id}")).json()
        inbox = next(d for d in view["deliveries"] if d["destination"] == "inbox")
        task_id = inbox["task"]["reference"].removeprefix("Task/")
        task = await h.client.get(f"/fhir/Task/{task_id}", headers=clinic)
        etag = task.headers["etag"]
        accepted = await h.client.put(
            f"/fhir/Task/{task_id}",
            json={**task.json(), "status": "accepted"},
            headers={**clinic, "If-Match": etag},
        )
        assert accepted.status_code == 200, accepted.text
        again = await h.client.put(
            f"/fhir/Task/{task_id}",
            json={**task.json(), "status": "rejected", "statusReason": {"text": "x"}},
            headers={**clinic, "If-Match": etag},
        )
        assert again.status_code == 412
        await dispatcher.drain()
        app = [json.loads(r.content) for r in seen if str(r.url) == HOOK]
        for request in (r for r in seen if str(r.url) == HOOK):
            verify(SECRET, request.headers, request.content, now=int(h.gateway.clock().timestamp()))
        inbox_statuses = [p["data"]["status"] for p in app if p["data"]["destination"] == "inbox"]
        assert inbox_statuses == ["requested", "accepted"]
        events = [json.loads(r.content) for r in seen if str(r.url) == CLINIC][1:]
        numbers = [
            part["valueString"]
            for bundle in events
            for p in bundle["entry"][0]["resource"]["parameter"]
            if p["name"] == "notification-event"
            for part in p["part"]
            if part["name"] == "event-number"
        ]
        assert numbers == ["1", "2"]
        view = (await h.get(f"/referrals/{referral_id}")).json()
        assert view["status"] == "accepted"
        runner = h.gateway.loop_runner
        assert runner is not None
        assert await runner.stalls.check() == 0
