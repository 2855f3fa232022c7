"""Group commit for intake: submissions that arrive together are written together.

Each request validates, maps and routes on its own (``IntakeService.prepare``),
then joins the queue; one writer takes everything waiting (up to ``max_batch``)
and writes it in ONE transaction, so a burst costs about one commit instead of
one each, and SQLite's single writer never spins on its lock. Every request still
gets its own answer only after its rows are committed. Should the batch's commit
fail on the unique ``(client_id, triage_id)`` (a twin accepted by another process
meanwhile), its items are written again one by one and each answers as a replay.
"""

from __future__ import annotations

import asyncio
from collections import deque

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import GatewayError
from gateway.intake.service import Accepted, IntakeService, Prepared

Waiting = tuple[Prepared, "asyncio.Future[Accepted]"]


class IntakeBatcher:
    def __init__(self, engine: AsyncEngine, service: IntakeService, max_batch: int = 32) -> None:
        self.engine = engine
        self.service = service
        self.max_batch = max_batch
        self._queue: deque[Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, body: bytes, client_id: str) -> Accepted:
        """Accept one submission; raises the GatewayError it earns."""
        prepared = self.service.prepare(body, client_id)
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._queue.append((prepared, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            await self._write(batch)

    async def _write(self, batch: list[Waiting]) -> None:
        results: list[Accepted | BaseException]
        try:
            results = list(await self._transaction([item for item, _ in batch]))
        except IntegrityError:
            results = []
            for item, _ in batch:
                try:
                    results.extend(await self._transaction([item]))
                except Exception as exc:  # handed to the waiting request
                    results.append(exc)
        except Exception as exc:  # handed to every waiting request
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue  # the request went away; its rows (if any) are committed
            if isinstance(result, Accepted):
                future.set_result(result)
            else:
                future.set_exception(result)

    async def _transaction(self, items: list[Prepared]) -> list[Accepted | GatewayError]:
        async with self.engine.begin() as conn:
            return await self.service.write(conn, items)
