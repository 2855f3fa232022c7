"""A destination's Task becomes visible when its referral lands there (SDOH Clinical
Care, Task for referral management); a Task the gateway closes says why.

Both go through ``task_changed`` on the same transaction, so the app and subscribers
are told, whoever made the change: the worker, the built-in inbox or a revocation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.context import fhir_instant
from gateway.fhir_task import REMOTE_TASK_SYSTEM
from gateway.notify import task_changed
from gateway.store import fhir_store


async def publish_task(
    conn: AsyncConnection,
    referral_id: str,
    task_id: str,
    now: datetime,
    *,
    remote_task_id: str | None = None,
) -> dict[str, Any] | None:
    """Publish the Task (once), recording the destination's id for it when it gave one.

    Returns the Task as published now, or None when it was published before or is gone.
    """
    stored = await fhir_store.read(conn, "Task", task_id)
    if stored is None or stored.published:
        return None
    body = dict(stored.body)
    if remote_task_id and not any(
        i.get("system") == REMOTE_TASK_SYSTEM for i in body.get("identifier", [])
    ):
        body["identifier"] = [
            *body.get("identifier", []),
            {"system": REMOTE_TASK_SYSTEM, "value": remote_task_id},
        ]
    updated = await fhir_store.update_resource(
        conn, body, now=now, expected_version=stored.version_id, published=True
    )
    if updated is not None:
        await task_changed(
            conn, referral_id=referral_id, task=updated, previous_status=None, now=now
        )
    return updated


async def set_task_status(
    conn: AsyncConnection,
    referral_id: str,
    task_id: str,
    status: str,
    reason: str,
    now: datetime,
) -> None:
    """Move the Task to ``status`` with ``reason`` as its ``statusReason``."""
    stored = await fhir_store.read(conn, "Task", task_id)
    if stored is None:
        return
    body = {
        **stored.body,
        "status": status,
        "statusReason": {"text": reason},
        "lastModified": fhir_instant(now),
    }
    updated = await fhir_store.update_resource(
        conn, body, now=now, expected_version=stored.version_id
    )
    if updated is not None:
        await task_changed(
            conn,
            referral_id=referral_id,
            task=updated,
            previous_status=stored.body.get("status"),
            now=now,
        )
