"""The closed loop's background work, one tick at a time: queue heartbeats, check for
stalled referrals, sync status from EHRs that are due, then deliver the notification
outbox. Runs next to the delivery worker; woken early when there is news.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.context import Clock
from gateway.logging import get_logger
from gateway.referral_loop.dispatcher import NotificationDispatcher
from gateway.referral_loop.heartbeats import queue_heartbeats
from gateway.referral_loop.stalls import StallWatch
from gateway.referral_loop.status_sync import StatusSync

log = get_logger("gateway.referral_loop.runner")


class LoopRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock,
        dispatcher: NotificationDispatcher,
        stalls: StallWatch,
        sync: StatusSync,
        poll_seconds: float,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.dispatcher = dispatcher
        self.stalls = stalls
        self.sync = sync
        self.poll_seconds = poll_seconds
        self.wake = asyncio.Event()

    async def tick(self) -> int:
        """One round of everything; returns how many notifications were sent."""
        async with self.engine.begin() as conn:
            await queue_heartbeats(conn, self.clock())
        await self.stalls.check()
        await self.sync.run_due()
        return await self.dispatcher.drain(limit=200)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # one bad round must not end the loop
                log.exception("loop.tick_failed")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_seconds)

    async def aclose(self) -> None:
        """Release the outbound clients of the dispatcher and status sync."""
        await self.dispatcher.subscription_notifier.aclose()
        for reader in self.sync.readers.values():
            await reader.aclose()
