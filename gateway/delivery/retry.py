"""Retry policy for deliveries, kept out of connector code.

Two layers: a couple of quick in-claim retries with tenacity (a blip should not
cost a full reschedule), then durable rescheduling in the outbox with truncated
exponential backoff and full jitter, ``Retry-After`` honoured, until
``max_attempts`` claims have failed and the delivery is dead-lettered.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from connectors.base import TransientDeliveryError


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    """Claims before a delivery is dead-lettered."""
    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    crisis_cap_seconds: float = 10.0
    """The crisis lane never waits long between tries."""
    quick_retries: int = 2
    sleep: Callable[[float], Awaitable[None]] | None = None
    rng: random.Random = field(default_factory=random.Random)

    def in_claim(self) -> AsyncRetrying:
        kwargs = {}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        return AsyncRetrying(
            stop=stop_after_attempt(self.quick_retries + 1) | stop_after_delay(5),
            wait=wait_random_exponential(multiplier=0.2, max=1),
            retry=retry_if_exception(worth_a_quick_retry),
            reraise=True,
            **kwargs,  # type: ignore[arg-type]
        )

    def next_delay(self, attempts: int, *, crisis: bool, retry_after: float | None) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**(attempts-1))), at least Retry-After."""
        cap = self.crisis_cap_seconds if crisis else self.cap_seconds
        ceiling = min(cap, self.base_seconds * 2 ** max(0, attempts - 1))
        delay = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, 3600.0))
        return delay


QUICK_RETRY_AFTER_LIMIT = 1.0


def worth_a_quick_retry(error: BaseException) -> bool:
    """A transient failure, unless the destination asked for a longer pause (then the
    delivery goes back to the outbox and waits there, not in the worker)."""
    if not isinstance(error, TransientDeliveryError):
        return False
    return error.retry_after is None or error.retry_after <= QUICK_RETRY_AFTER_LIMIT
