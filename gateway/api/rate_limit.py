"""Per-client token buckets: one noisy app cannot starve the others.

Each client named with a ``rate_limit`` in the YAML (``clients[].rate_limit:
{per_second, burst}``) has a bucket of ``burst`` tokens refilled at ``per_second``;
a submission takes one. An empty bucket answers 429 with ``Retry-After`` (RFC 6585
§4) the whole seconds until a token is back. Clients without a ``rate_limit`` are
limited only by the admission queue. Buckets live in the process (a gateway run as
several processes gives each its own); the clock is injected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from gateway.config import RateLimitConfig


def _capacity(limit: RateLimitConfig) -> float:
    return float(limit.burst or math.ceil(limit.per_second))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, limits: dict[str, RateLimitConfig], clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def retry_after(self, client_id: str) -> int | None:
        """Take a token for ``client_id``: None when it may go on, else seconds to wait."""
        limit = self.limits.get(client_id)
        if limit is None:
            return None
        now = self.clock()
        bucket = self._buckets.setdefault(client_id, _Bucket(_capacity(limit), now))
        refill = (now - bucket.updated) * limit.per_second
        bucket.tokens = min(_capacity(limit), bucket.tokens + refill)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / limit.per_second))
