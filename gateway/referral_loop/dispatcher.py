"""Delivers the notification outbox: app webhooks and subscription notifications.

Each row is claimed with a lease (a dispatcher that dies leaves a lease that runs
out), sent once per claim, and every attempt is stored as a delivery record
(``loop_notification_attempts``). Failures back off with ``RetryPolicy`` (truncated
exponential with full jitter, ``Retry-After`` honoured) until ``max_attempts``.

- App webhooks follow Standard Webhooks: the row id is the ``webhook-id`` on every
  retry; 410 Gone disables the endpoint (``loop_disabled_webhooks``).
- Subscription notifications follow the R4 Subscriptions Backport: the handshake
  makes a ``requested`` Subscription ``active`` (or ``error``), heartbeats are sent
  once without retry, an event that cannot be delivered puts the Subscription in
  ``error``. Each ``channel.header`` string is sent as an HTTP header.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.base import DeliveryError, TransientDeliveryError
from connectors.http_errors import EndpointGone
from connectors.subscription_notify import SubscriptionNotifier
from gateway.context import Clock, fhir_instant
from gateway.delivery.lease import LeasedQueue
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.status import AttemptOutcome, DeliveryStatus
from gateway.logging import get_logger
from gateway.metrics import Metrics
from gateway.referral_loop.outbox import APP_WEBHOOK
from gateway.referral_loop.subscription_store import facts
from gateway.referral_loop.subscriptions import Event, notification_bundle
from gateway.store.tables import clients
from gateway.store.tables_loop import (
    disabled_webhooks,
    notification_attempts,
    notifications,
    subscriptions,
)

log = get_logger("gateway.referral_loop.dispatcher")
LEASE = timedelta(seconds=60)
HANDSHAKE_ATTEMPTS = 3


class WebhookPort(Protocol):
    async def send(self, msg_id: str, payload: Mapping[str, Any]) -> object:
        """POST one signed attempt; raise a ``DeliveryError`` when it did not land."""


WebhookFactory = Callable[[str, str], WebhookPort]
"""``(url, secret) -> sender``; bootstrap passes one built on ``connectors.webhooks``."""


class _Skip(Exception):
    """Nothing to send any more (no endpoint, endpoint disabled, subscription off)."""


@dataclass(frozen=True)
class Claim:
    id: str
    channel: str
    target: str
    kind: str
    attempts: int
    payload: dict[str, Any]


def absolute_links(payload: dict[str, Any], public_url: str) -> dict[str, Any]:
    data = dict(payload.get("data") or {})
    links = {k: f"{public_url}{v}" for k, v in (data.get("links") or {}).items()}
    return {**payload, "data": {**data, "links": links}}


class NotificationDispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock,
        webhooks: WebhookFactory,
        subscription_notifier: SubscriptionNotifier,
        policy: RetryPolicy,
        public_url: str,
        metrics: Metrics,
        worker_id: str,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.webhooks = webhooks
        self.subscription_notifier = subscription_notifier
        self.policy = policy
        self.public_url = public_url
        self.metrics = metrics
        self.worker_id = worker_id
        self.queue = LeasedQueue(
            notifications, notification_attempts, "notification_id", LEASE, worker_id
        )

    async def drain(self, limit: int = 1000) -> int:
        """Send due notifications until none is left (or ``limit``)."""
        done = 0
        while done < limit and await self.run_once():
            done += 1
        return done

    async def run_once(self) -> bool:
        claim = await self._claim()
        if claim is None:
            return False
        try:
            await self._send(claim)
        except _Skip as skip:
            await self._close(
                claim, DeliveryStatus.SKIPPED, None, str(skip), outcome=AttemptOutcome.SKIPPED
            )
        except DeliveryError as error:
            await self._failed(claim, error)
        else:
            await self._close(
                claim,
                DeliveryStatus.DELIVERED,
                None,
                "delivered",
                outcome=AttemptOutcome.DELIVERED,
            )
        return True

    async def _claim(self) -> Claim | None:
        now = self.clock()
        async with self.engine.begin() as conn:
            row = await self.queue.next_due(
                conn, now, order_by=(notifications.c.next_attempt_at, notifications.c.created_at)
            )
            if row is None:
                return None
            attempt = await self.queue.take(conn, row, now)
        return Claim(row.id, row.channel, row.target, row.kind, attempt, orjson.loads(row.payload))

    async def _send(self, claim: Claim) -> None:
        if claim.channel == APP_WEBHOOK:
            await self._send_app_webhook(claim)
        else:
            await self._send_subscription(claim)

    async def _send_app_webhook(self, claim: Claim) -> None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(clients.c.webhook_url, clients.c.webhook_secret).where(
                        clients.c.client_id == claim.target
                    )
                )
            ).first()
            if row is None or not row.webhook_url or not row.webhook_secret:
                raise _Skip("the client has no webhook endpoint")
            if await _is_disabled(conn, claim.target, row.webhook_url):
                raise _Skip("the client's webhook endpoint is disabled (410 Gone)")
        sender = self.webhooks(row.webhook_url, row.webhook_secret)
        await sender.send(claim.id, absolute_links(claim.payload, self.public_url))

    async def _send_subscription(self, claim: Claim) -> None:
        async with self.engine.connect() as conn:
            sub = (
                await conn.execute(select(subscriptions).where(subscriptions.c.id == claim.target))
            ).first()
        if sub is None or sub.status == "off":
            raise _Skip("the subscription is gone or off")
        if claim.kind != "handshake" and sub.status != "active":
            raise _Skip(f"the subscription is {sub.status}")
        now = self.clock()
        payload = claim.payload
        status_facts = facts(sub, f"{self.public_url}/fhir")
        if claim.kind == "event-notification":
            status_facts = type(status_facts)(
                status_facts.fhir_base,
                status_facts.subscription_id,
                status_facts.status,
                int(payload["events_since_start"]),
            )
        bundle = notification_bundle(
            status_facts,
            claim.kind,
            bundle_id=claim.id.removeprefix("msg_"),
            timestamp=fhir_instant(now),
            events=[
                Event(e["number"], e["timestamp"], e["focus"]) for e in payload.get("events", [])
            ],
            content=sub.content,
            focus=payload.get("focus"),
        )
        await self.subscription_notifier.send(
            sub.endpoint,
            bundle,
            orjson.loads(sub.headers),
            what=f"subscription endpoint of Subscription/{sub.id}",
        )
        async with self.engine.begin() as conn:
            values: dict[str, Any] = {"last_sent_at": now, "updated_at": now}
            if claim.kind == "handshake":
                values.update(status="active", error=None)
            await conn.execute(
                update(subscriptions).where(subscriptions.c.id == sub.id).values(**values)
            )

    def _gives_up(self, claim: Claim, error: DeliveryError) -> bool:
        if not isinstance(error, TransientDeliveryError):
            return True
        if claim.kind == "heartbeat":
            return True
        limit = HANDSHAKE_ATTEMPTS if claim.kind == "handshake" else self.policy.max_attempts
        return claim.attempts >= limit

    async def _failed(self, claim: Claim, error: DeliveryError) -> None:
        if not self._gives_up(claim, error):
            retry_after = error.retry_after if isinstance(error, TransientDeliveryError) else None
            delay = self.policy.next_delay(claim.attempts, crisis=False, retry_after=retry_after)
            await self._close(
                claim, DeliveryStatus.PENDING, delay, error.reason, outcome=AttemptOutcome.TRANSIENT
            )
            return
        gone = isinstance(error, EndpointGone)
        outcome = AttemptOutcome.GONE if gone else AttemptOutcome.FAILED
        await self._close(claim, DeliveryStatus.DEAD, None, error.reason, outcome=outcome)
        now = self.clock()
        async with self.engine.begin() as conn:
            if claim.channel == APP_WEBHOOK and gone:
                await _disable_webhook(conn, claim.target, error.reason, now)
            elif claim.channel != APP_WEBHOOK and claim.kind != "heartbeat":
                await conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.id == claim.target)
                    .values(status="error", error=error.reason[:500], updated_at=now)
                )
        log.warning("notification.dead", delivery_id=claim.id, outcome=claim.kind)

    async def _close(
        self,
        claim: Claim,
        status: DeliveryStatus,
        delay: float | None,
        detail: str,
        *,
        outcome: AttemptOutcome,
    ) -> None:
        now = self.clock()
        values: dict[str, Any] = {}
        if delay is not None:
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        if status != DeliveryStatus.DELIVERED:
            values["last_error"] = detail[:2000]
        async with self.engine.begin() as conn:
            await self.queue.settle(conn, claim.id, status, now, **values)
            await self.queue.log_attempt(conn, claim.id, claim.attempts, outcome, detail, at=now)
        self.metrics.notifications.labels(claim.channel, claim.kind, outcome).inc()


async def _is_disabled(conn: AsyncConnection, client_id: str, url: str) -> bool:
    row = (
        await conn.execute(
            select(disabled_webhooks.c.url).where(
                disabled_webhooks.c.client_id == client_id, disabled_webhooks.c.url == url
            )
        )
    ).first()
    return row is not None


async def _disable_webhook(
    conn: AsyncConnection, client_id: str, reason: str, now: datetime
) -> None:
    url = (
        await conn.execute(select(clients.c.webhook_url).where(clients.c.client_id == client_id))
    ).scalar_one_or_none()
    if url and not await _is_disabled(conn, client_id, url):
        await conn.execute(
            insert(disabled_webhooks).values(
                client_id=client_id, url=url, disabled_at=now, reason=reason[:500]
            )
        )
