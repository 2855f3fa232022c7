"""How many deliveries a worker has in flight, per destination, and one person's
order (docs/delivery.md, "Several at once").

A worker sends up to ``max_in_flight`` deliveries (config, default 4) to one
destination at once; a destination at its bound is left out of the next claim, like
one whose circuit is open, so no claim waits on a lease it holds for nothing. Every
claim is leased in its own transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), so no two sends of one delivery overlap. Two referrals
for one person to one destination still go one after the other, in the order they
were claimed: the second's conditional create must find the Patient the first made,
and the EHR's Tasks for that person arrive in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping


class DeliverySlots:
    def __init__(self, limits: Mapping[str, int], default: int = 4) -> None:
        self.limits = dict(limits)
        self.default = default
        self._in_flight: Counter[str] = Counter()
        self._order: dict[tuple[str, str], asyncio.Lock] = {}
        self._waiting: Counter[tuple[str, str]] = Counter()

    def full(self) -> frozenset[str]:
        """The destinations at their bound: leave them out of the next claim."""
        return frozenset(
            name for name, n in self._in_flight.items() if n >= self.limits.get(name, self.default)
        )

    def in_flight(self, destination: str) -> int:
        return self._in_flight[destination]

    def taken(self, destination: str) -> None:
        """Count a claim at once (before its delivery starts), so the next claim sees it."""
        self._in_flight[destination] += 1

    def released(self, destination: str) -> None:
        self._in_flight[destination] -= 1
        if self._in_flight[destination] <= 0:
            del self._in_flight[destination]

    @contextlib.asynccontextmanager
    async def in_order(self, destination: str, person: str) -> AsyncIterator[None]:
        """One delivery at a time for ``person`` at ``destination``, first claimed first."""
        key = (destination, person)
        lock = self._order.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:  # nobody holds or waits for it: forget it
                del self._waiting[key], self._order[key]
