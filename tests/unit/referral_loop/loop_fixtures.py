"""Shared pieces of the closed-loop tests: a config with a recipient client and an app
webhook, a settable clock, and a dispatcher whose HTTP goes to a recording handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from harness import APP_SCOPES, Harness, base_config, public_jwks
from joserfc.jwk import ECKey

from connectors.subscription_notify import SubscriptionNotifier
from connectors.webhooks import WebhookSender
from gateway.delivery.retry import RetryPolicy
from gateway.referral_loop.dispatcher import NotificationDispatcher

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
APP_HOOK = "https://app-a.example.org/hooks/referrals"
RECIPIENT_SCOPE = (
    "system/Task.u system/Task.rs system/ServiceRequest.rs system/Patient.rs "
    "system/Observation.rs system/Subscription.c system/Subscription.r"
)


def loop_config(keys: dict[str, ECKey]) -> dict[str, Any]:
    """app-a submits (with a webhook); app-b acts for the ``inbox`` destination."""
    config = base_config(keys)
    config["clients"][0]["webhook"] = {"url": APP_HOOK, "secret": SECRET}
    config["clients"][0]["scopes"] = [*APP_SCOPES, "system/Task.u"]
    config["clients"][1] = {
        "client_id": "app-b",
        "jwks": public_jwks(keys["app-b"]),
        "scopes": [*APP_SCOPES, *RECIPIENT_SCOPE.split()],
    }
    for destination in config["destinations"]:
        if destination["name"] == "inbox":
            destination["clients"] = ["app-b"]
    return config


@dataclass
class SettableClock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    """Starts at the real time: client assertions in the tests are signed with it."""

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Recorder:
    """Answers each request with the next queued status (default 200) and keeps it."""

    statuses: list[int] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    def to(self, url: str) -> list[httpx.Request]:
        return [r for r in self.requests if str(r.url) == url]


def dispatcher_for(
    h: Harness, recorder: Recorder, clock: Callable[[], datetime]
) -> NotificationDispatcher:
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder.handler))
    return NotificationDispatcher(
        h.gateway.engine,
        clock=clock,
        webhooks=lambda url, secret: WebhookSender(
            url, secret, client, clock=lambda: clock().timestamp()
        ),
        subscription_notifier=SubscriptionNotifier(client),
        policy=RetryPolicy(max_attempts=3, base_seconds=1.0, cap_seconds=2.0),
        public_url="http://gateway.test",
        metrics=h.gateway.services.metrics,
        worker_id="test",
    )


async def recipient_headers(h: Harness) -> dict[str, str]:
    return {"Authorization": f"Bearer {await h.token('app-b', RECIPIENT_SCOPE)}"}


async def requester_headers(h: Harness) -> dict[str, str]:
    scope = " ".join([*APP_SCOPES, "system/Task.u"])
    return {"Authorization": f"Bearer {await h.token('app-a', scope)}"}


async def submitted_inbox_task(h: Harness, body: dict[str, Any]) -> tuple[str, str]:
    """Submit, deliver, and return (referral id, the inbox Task id)."""
    response = await h.submit(body)
    assert response.status_code == 202, response.text
    referral_id = response.json()["referral_id"]
    await h.deliver_all()
    view = (await h.get(f"/referrals/{referral_id}")).json()
    inbox = next(d for d in view["deliveries"] if d["destination"] == "inbox")
    assert inbox["status"] == "delivered", inbox
    return referral_id, inbox["task"]["reference"].removeprefix("Task/")
