"""The built-in inbox's store side: publishing a destination's Task makes it visible."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.context import Clock
from gateway.notify import task_changed
from gateway.store import fhir_store
from gateway.store.tables import deliveries


class StoreInboxPublisher:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    async def publish(self, referral_id: str, destination: str) -> str | None:
        async with self.engine.begin() as conn:
            task_id = (
                await conn.execute(
                    select(deliveries.c.task_id).where(
                        deliveries.c.referral_id == referral_id,
                        deliveries.c.destination == destination,
                    )
                )
            ).scalar_one_or_none()
            if task_id is None:
                return None
            stored = await fhir_store.read(conn, "Task", task_id)
            if stored is None:
                return None
            if not stored.published:
                now = self.clock()
                updated = await fhir_store.update_resource(
                    conn, stored.body, now=now, expected_version=stored.version_id, published=True
                )
                if updated is not None:
                    await task_changed(
                        conn, referral_id=referral_id, task=updated, previous_status=None, now=now
                    )
            return str(task_id)
