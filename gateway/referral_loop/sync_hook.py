"""The gateway's end of an EHR rest-hook subscription (status sync mode ``subscription``).

A notification from the EHR is taken as a nudge, never as data: once its
per-subscription secret header checks out, the destination is marked due and the
next sync reads the Tasks from the EHR with the gateway's own credentials.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.tables_loop import sync_cursors

HOOK_HEADER = "X-Gateway-Hook-Secret"


async def nudge(
    conn: AsyncConnection, destination: str, presented: str | None, now: datetime
) -> bool:
    """Mark ``destination`` due for sync if ``presented`` is its hook secret."""
    row = (
        await conn.execute(
            select(sync_cursors.c.hook_secret).where(sync_cursors.c.destination == destination)
        )
    ).first()
    if row is None or not row.hook_secret or presented is None:
        return False
    if not hmac.compare_digest(row.hook_secret.encode(), presented.encode()):
        return False
    await conn.execute(
        update(sync_cursors)
        .where(sync_cursors.c.destination == destination)
        .values(last_polled_at=None, updated_at=now)
    )
    return True
