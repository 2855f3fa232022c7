"""The notification outbox: what must be said about a Task change, queued on the same
transaction as the change (a rolled-back change never announces itself).

Two channels:

- ``app-webhook``: the submitting app, through its Standard Webhooks endpoint; thin
  payloads (ids, status, time, links), message id stable across retries;
- ``subscription``: each active R4 Backport Subscription whose filters match and whose
  owner may see the Task; events are numbered per subscription (``events_count``),
  so a receiver can tell when one went missing.

Payloads hold facts, not wire bodies: the dispatcher renders links and Bundles with
the gateway's public URL when it sends.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.context import fhir_instant
from gateway.delivery.referral_status import refresh_referral_status
from gateway.delivery.status import DeliveryStatus
from gateway.referral_loop.milestones import ensure_milestone, record_status, task_destination
from gateway.referral_loop.subscriptions import filters_match
from gateway.store import fhir_store
from gateway.store.tables import clients, referrals
from gateway.store.tables_loop import disabled_webhooks, notifications, subscriptions

APP_WEBHOOK = "app-webhook"
SUBSCRIPTION = "subscription"
STATUS_CHANGED = "referral.status_changed"
STALLED = "referral.stalled"


def message_id(*parts: str) -> str:
    """A deterministic Standard Webhooks message id (no '.'), so a repeat is a no-op."""
    return "msg_" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


async def queue(
    conn: AsyncConnection,
    *,
    msg_id: str,
    channel: str,
    target: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    referral_id: str | None = None,
    task_id: str | None = None,
) -> bool:
    """Queue one notification; False when ``msg_id`` was queued before."""
    seen = (
        await conn.execute(select(notifications.c.id).where(notifications.c.id == msg_id))
    ).first()
    if seen is not None:
        return False
    await conn.execute(
        insert(notifications).values(
            id=msg_id,
            channel=channel,
            target=target,
            kind=kind,
            referral_id=referral_id,
            task_id=task_id,
            payload=orjson.dumps(payload),
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    return True


async def app_webhook_enabled(conn: AsyncConnection, client_id: str) -> bool:
    row = (
        await conn.execute(select(clients.c.webhook_url).where(clients.c.client_id == client_id))
    ).first()
    if row is None or not row.webhook_url:
        return False
    disabled = (
        await conn.execute(
            select(disabled_webhooks.c.url).where(
                disabled_webhooks.c.client_id == client_id,
                disabled_webhooks.c.url == row.webhook_url,
            )
        )
    ).first()
    return disabled is None


def app_payload(
    event_type: str, *, referral_id: str, task: dict[str, Any], now: datetime, **extra: Any
) -> dict[str, Any]:
    """A thin Standard Webhooks payload (``type``, ``timestamp``, ``data``); links relative."""
    data = {
        "referral_id": referral_id,
        "task_id": task["id"],
        "destination": task_destination(task),
        "status": task.get("status"),
        **extra,
        "links": {"referral": f"/referrals/{referral_id}", "task": f"/fhir/Task/{task['id']}"},
    }
    return {"type": event_type, "timestamp": fhir_instant(now), "data": data}


async def _queue_app_status(
    conn: AsyncConnection,
    client_id: str,
    referral_id: str,
    task: dict[str, Any],
    previous_status: str | None,
    now: datetime,
) -> None:
    if not await app_webhook_enabled(conn, client_id):
        return
    version = str((task.get("meta") or {}).get("versionId", ""))
    extra: dict[str, Any] = {"previous_status": previous_status}
    await queue(
        conn,
        msg_id=message_id(APP_WEBHOOK, task["id"], version, str(task.get("status"))),
        channel=APP_WEBHOOK,
        target=client_id,
        kind=STATUS_CHANGED,
        payload=app_payload(STATUS_CHANGED, referral_id=referral_id, task=task, now=now, **extra),
        now=now,
        referral_id=referral_id,
        task_id=task["id"],
    )


def _visible(owners: list[str], task_owner: str, task_client: str | None, sub_client: str) -> bool:
    return "*" in owners or task_owner in owners or task_client == sub_client


async def _queue_subscription_events(
    conn: AsyncConnection, referral_id: str, task: dict[str, Any], client_id: str, now: datetime
) -> None:
    owner = str((task.get("owner") or {}).get("reference", ""))
    rows = await conn.execute(
        select(subscriptions).where(subscriptions.c.status == "active").with_for_update()
    )
    for sub in list(rows):
        owners = orjson.loads(sub.visible_owners)
        if not _visible(owners, owner, client_id, sub.client_id):
            continue
        if not filters_match(orjson.loads(sub.filters), task):
            continue
        number = sub.events_count + 1
        await conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == sub.id)
            .values(events_count=number, updated_at=now)
        )
        payload = {
            "type": "event-notification",
            "events": [
                {"number": number, "timestamp": fhir_instant(now), "focus": f"Task/{task['id']}"}
            ],
            "events_since_start": number,
            "focus": task if sub.content == "full-resource" else None,
        }
        await queue(
            conn,
            msg_id=message_id(SUBSCRIPTION, sub.id, str(number)),
            channel=SUBSCRIPTION,
            target=sub.id,
            kind="event-notification",
            payload=payload,
            now=now,
            referral_id=referral_id,
            task_id=task["id"],
        )


async def on_task_changed(
    conn: AsyncConnection,
    *,
    referral_id: str,
    task: dict[str, Any],
    previous_status: str | None,
    now: datetime,
) -> None:
    """Milestones, referral status, app webhook and subscription events for one change."""
    stored = await fhir_store.read(conn, "Task", task["id"])
    if stored is None:
        return
    client_id = (
        await conn.execute(select(referrals.c.client_id).where(referrals.c.id == referral_id))
    ).scalar_one()
    status = str(task.get("status"))
    if stored.published:
        await ensure_milestone(conn, referral_id=referral_id, task=task, requested_at=now)
        await record_status(conn, task["id"], status, now)
    await refresh_referral_status(conn, referral_id)
    if status != previous_status:
        await _queue_app_status(conn, client_id, referral_id, task, previous_status, now)
    if stored.published:
        await _queue_subscription_events(conn, referral_id, task, client_id, now)
