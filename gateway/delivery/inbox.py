"""The built-in inbox's store side: publishing a destination's Task makes it visible."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.context import Clock
from gateway.delivery.publish import publish_task
from gateway.store import fhir_store
from gateway.store.tables import deliveries


class StoreInboxPublisher:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    async def publish(self, referral_id: str, destination: str) -> str | None:
        """Publish the referral's Task for ``destination``; its id, None when it has none."""
        async with self.engine.begin() as conn:
            task_id = (
                await conn.execute(
                    select(deliveries.c.task_id).where(
                        deliveries.c.referral_id == referral_id,
                        deliveries.c.destination == destination,
                    )
                )
            ).scalar_one_or_none()
            if task_id is None or await fhir_store.read(conn, "Task", task_id) is None:
                return None
            await publish_task(conn, referral_id, task_id, self.clock())
            return str(task_id)
