"""The seam every Task change goes through, so nobody is left uninformed.

Whoever changes a referral's Task (the worker on delivery, a recipient's PUT/PATCH,
status sync from an EHR, a consent revocation) calls ``task_changed`` on the same
transaction. What must follow is the closed referral loop's business: it subscribes
(``gateway.referral_loop.outbox.on_task_changed``, wired by the composition root) and
queues the Standard Webhooks notification to the submitting app and the Subscriptions
Backport notifications to clinicians' systems, and keeps the referral's loop status
and milestones current. Queued, not sent: a crash never loses one and a rolled-back
change never announces itself. This module knows no listener, so the layers below the
loop can announce a change without importing it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection


class TaskChangeListener(Protocol):
    def __call__(
        self,
        conn: AsyncConnection,
        *,
        referral_id: str,
        task: dict[str, Any],
        previous_status: str | None,
        now: datetime,
    ) -> Awaitable[None]: ...


_listeners: list[TaskChangeListener] = []


def listen(listener: TaskChangeListener) -> None:
    """Have ``listener`` called on every Task change (once, however often it is given)."""
    if listener not in _listeners:
        _listeners.append(listener)


async def task_changed(
    conn: AsyncConnection,
    *,
    referral_id: str,
    task: dict[str, Any],
    previous_status: str | None,
    now: datetime,
) -> None:
    """Tell every listener about a created or changed Task (see module docstring)."""
    for listener in list(_listeners):
        await listener(
            conn, referral_id=referral_id, task=task, previous_status=previous_status, now=now
        )
