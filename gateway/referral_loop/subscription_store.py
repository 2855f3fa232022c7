"""Subscriptions clinicians' systems hold with the gateway: create, read, ``$status``.

R4 Subscriptions Backport STU 1.1 (components.html "Subscription", "Handshake"): a new
Subscription is stored ``requested`` and a handshake is queued; the dispatcher makes
it ``active`` when the endpoint accepts the handshake and ``error`` when it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.context import fhir_instant
from gateway.referral_loop.outbox import SUBSCRIPTION, message_id, queue
from gateway.referral_loop.subscriptions import StatusFacts, SubscriptionRequest, parse_subscription
from gateway.store.tables_loop import subscriptions


@dataclass(frozen=True)
class Subscriber:
    client_id: str
    visible_owners: list[str]
    """Owner references whose Tasks the subscriber may hear about; ``["*"]`` for all."""


def resource_view(row: Any) -> dict[str, Any]:
    """The Subscription as stored, with its current ``status`` and ``error``."""
    body = {**orjson.loads(row.body), "id": row.id, "status": row.status}
    body["meta"] = {"lastUpdated": fhir_instant(row.updated_at)}
    if row.error:
        body["error"] = row.error
    else:
        body.pop("error", None)
    return body


def facts(row: Any, fhir_base: str) -> StatusFacts:
    return StatusFacts(fhir_base, row.id, row.status, row.events_count)


async def create_subscription(
    conn: AsyncConnection, resource: Any, subscriber: Subscriber, *, new_id: str, now: datetime
) -> dict[str, Any]:
    """Store a checked Subscription as ``requested`` and queue its handshake."""
    request: SubscriptionRequest = parse_subscription(resource)
    body = {k: v for k, v in resource.items() if k not in {"id", "meta", "status", "error"}}
    await conn.execute(
        insert(subscriptions).values(
            id=new_id,
            client_id=subscriber.client_id,
            status="requested",
            filters=orjson.dumps(list(request.filters)).decode(),
            visible_owners=orjson.dumps(subscriber.visible_owners).decode(),
            endpoint=request.endpoint,
            headers=orjson.dumps(list(request.headers)).decode(),
            content=request.content,
            heartbeat_seconds=request.heartbeat_seconds,
            events_count=0,
            body=orjson.dumps(body),
            created_at=now,
            updated_at=now,
        )
    )
    await queue(
        conn,
        msg_id=message_id(SUBSCRIPTION, new_id, "handshake"),
        channel=SUBSCRIPTION,
        target=new_id,
        kind="handshake",
        payload={"type": "handshake"},
        now=now,
    )
    row = (await conn.execute(select(subscriptions).where(subscriptions.c.id == new_id))).one()
    return resource_view(row)


async def load_subscription(
    conn: AsyncConnection, subscription_id: str, *, client_id: str | None
) -> Any | None:
    """The row, or None when unknown or held by another client (``client_id`` None: any)."""
    row = (
        await conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id))
    ).first()
    if row is None or (client_id is not None and row.client_id != client_id):
        return None
    return row
