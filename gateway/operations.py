"""Operator actions shared by the CLI and the API: dead letters and audit verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit import chain
from gateway.audit.recorder import current_head, stored_entries
from gateway.store.tables import deliveries


@dataclass(frozen=True)
class DeadLetter:
    delivery_id: str
    referral_id: str
    destination: str
    attempts: int
    reason: str | None
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "referral_id": self.referral_id,
            "destination": self.destination,
            "attempts": self.attempts,
            "reason": self.reason,
            "updated_at": self.updated_at.isoformat(),
        }


async def dead_letters(conn: AsyncConnection) -> list[DeadLetter]:
    rows = await conn.execute(
        select(deliveries).where(deliveries.c.status == "dead").order_by(deliveries.c.updated_at)
    )
    return [
        DeadLetter(r.id, r.referral_id, r.destination, r.attempts, r.last_error, r.updated_at)
        for r in rows
    ]


async def replay_dead_letter(conn: AsyncConnection, delivery_id: str, now: datetime) -> bool:
    """Put a dead-lettered delivery back in the queue with a fresh attempt budget."""
    result = await conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status == "dead")
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            claimed_by=None,
            updated_at=now,
        )
    )
    return result.rowcount == 1


async def verify_audit(
    conn: AsyncConnection, expected_head: chain.Head | None
) -> chain.VerifyResult:
    return chain.verify(await stored_entries(conn), expected_head)


async def export_head(conn: AsyncConnection) -> chain.Head | None:
    return await current_head(conn)
