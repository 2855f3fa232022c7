"""The seam every Task change goes through, so nobody is left uninformed.

Whoever changes a referral's Task (the worker on delivery, a recipient's PUT/PATCH,
status sync from an EHR, a consent revocation) calls ``task_changed`` on the same
transaction. It queues what must follow: the Standard Webhooks notification to the
submitting app and the Subscriptions Backport notifications to clinicians'
systems, and keeps the referral's loop status and milestones current. Queued, not
sent: the notification outbox is delivered by the dispatcher
(``gateway.referral_loop.dispatcher``), so a crash never loses one and a rolled-back change
never announces itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.referral_loop.outbox import on_task_changed


async def task_changed(
    conn: AsyncConnection,
    *,
    referral_id: str,
    task: dict[str, Any],
    previous_status: str | None,
    now: datetime,
) -> None:
    """Queue the notifications for a created or changed Task (see module docstring)."""
    await on_task_changed(
        conn, referral_id=referral_id, task=task, previous_status=previous_status, now=now
    )
