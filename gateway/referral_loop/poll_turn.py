"""Whose turn it is to poll a destination's Tasks, across every worker process.

Status sync reads an EHR no more often than agreed (``status_sync.poll_seconds``). With
N workers on one database each would otherwise read the cursor, find the poll due and
poll: N reads of a partner's server. A lease row per destination
(``loop_poll_leases``) makes it one: a worker polls only while it holds the lease, taken
by one conditional UPDATE (the row lock serialises takers on PostgreSQL, BEGIN
IMMEDIATE on SQLite), and reads the cursor only after taking it, so it sees the poll
the previous holder saved. A holder that dies leaves a lease that runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.tables_shared import poll_leases

POLL_LEASE = timedelta(minutes=5)


class PollTurns:
    def __init__(self, engine: AsyncEngine, holder: str, lease: timedelta = POLL_LEASE) -> None:
        self.engine = engine
        self.holder = holder
        self.lease = lease

    async def take(self, destination: str, now: datetime) -> bool:
        """True when this worker now holds ``destination``'s poll lease."""
        row = poll_leases.c
        async with self.engine.begin() as conn:
            taken = await conn.execute(
                update(poll_leases)
                .where(
                    row.destination == destination,
                    or_(row.lease_until.is_(None), row.lease_until < now),
                )
                .values(holder=self.holder, lease_until=now + self.lease)
            )
            if taken.rowcount == 1:
                return True
            held = await conn.execute(select(row.destination).where(row.destination == destination))
            if held.first() is not None:
                return False
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(poll_leases).values(
                        destination=destination, holder=self.holder, lease_until=now + self.lease
                    )
                )
        except IntegrityError:  # another worker made the row first: its turn
            return False
        return True

    async def give_back(self, destination: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(poll_leases)
                .where(
                    poll_leases.c.destination == destination,
                    poll_leases.c.holder == self.holder,
                )
                .values(lease_until=None)
            )
