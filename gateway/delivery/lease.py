"""One leased queue for every outbox the gateway keeps: deliveries and notifications.

A claim is a lease: ``take`` marks the item ``delivering`` until ``lease_until``; a
worker that dies mid-send leaves a lease that runs out, and the item is due again
(at-least-once). On PostgreSQL several workers claim side by side with
``FOR UPDATE SKIP LOCKED``; on SQLite ``BEGIN IMMEDIATE`` serialises claims. Every
attempt is written to the queue's attempt log. Moves go through
``DeliveryStatus.to``, so a queue cannot make a move its status does not allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.delivery.status import AttemptOutcome, DeliveryStatus

DETAIL_LIMIT = 2000


@dataclass(frozen=True)
class LeasedQueue:
    """A table of queued items (``id``, ``status``, ``attempts``, ``next_attempt_at``,
    ``lease_until``, ``updated_at``; ``claimed_by`` when present) and its attempt log."""

    table: Table
    attempt_log: Table
    attempt_key: str
    """The attempt log's column naming the item (``delivery_id``, ``notification_id``)."""
    lease: timedelta
    worker_id: str

    def due(self, now: datetime) -> ColumnElement[bool]:
        """Pending and due, or delivering with a lease that ran out."""
        c = self.table.c
        return or_(
            and_(c.status == DeliveryStatus.PENDING, c.next_attempt_at <= now),
            and_(c.status == DeliveryStatus.DELIVERING, c.lease_until < now),
        )

    async def next_due(
        self,
        conn: AsyncConnection,
        now: datetime,
        *,
        where: ColumnElement[bool] | None = None,
        order_by: Sequence[Any],
    ) -> Any:
        """The first due item in ``order_by`` (locked for this transaction), or None."""
        condition = and_(self.due(now), where if where is not None else true())
        return (
            await conn.execute(
                select(self.table)
                .where(condition)
                .order_by(*order_by)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()

    async def take(self, conn: AsyncConnection, row: Any, now: datetime) -> int:
        """Lease ``row`` to this worker; returns the attempt number this claim is."""
        DeliveryStatus(row.status).to(DeliveryStatus.DELIVERING)
        values: dict[str, Any] = {
            "status": DeliveryStatus.DELIVERING,
            "lease_until": now + self.lease,
            "attempts": row.attempts + 1,
            "updated_at": now,
        }
        if "claimed_by" in self.table.c:
            values["claimed_by"] = self.worker_id
        await conn.execute(update(self.table).where(self.table.c.id == row.id).values(**values))
        return int(row.attempts) + 1

    async def still_ours(self, conn: AsyncConnection, item_id: str, attempt: int) -> bool:
        """True while this worker's lease for ``attempt`` holds (locks the row); for
        queues that record ``claimed_by``."""
        c = self.table.c
        row = (
            await conn.execute(
                select(c.status, c.claimed_by, c.attempts).where(c.id == item_id).with_for_update()
            )
        ).one()
        return bool(
            row.status == DeliveryStatus.DELIVERING
            and row.claimed_by == self.worker_id
            and row.attempts == attempt
        )

    async def settle(
        self,
        conn: AsyncConnection,
        item_id: str,
        new: DeliveryStatus,
        now: datetime,
        **values: Any,
    ) -> None:
        """End a claim: ``delivering`` -> ``new``, the lease released."""
        status = DeliveryStatus.DELIVERING.to(new)
        await conn.execute(
            update(self.table)
            .where(self.table.c.id == item_id)
            .values(status=status, lease_until=None, updated_at=now, **values)
        )

    async def log_attempt(
        self,
        conn: AsyncConnection,
        item_id: str,
        attempt: int,
        outcome: AttemptOutcome,
        detail: str,
        **values: Any,
    ) -> None:
        """One row in the attempt log (``values``: its time columns, a status code)."""
        await conn.execute(
            insert(self.attempt_log).values(
                {
                    self.attempt_key: item_id,
                    "attempt": attempt,
                    "outcome": outcome,
                    "detail": detail[:DETAIL_LIMIT],
                    **values,
                }
            )
        )
