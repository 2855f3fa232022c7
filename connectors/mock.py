"""A scriptable ``Connector`` for tests: records what it was handed, fails on request."""

from __future__ import annotations

from collections import Counter

from connectors.base import (
    Connector,
    Delivery,
    PermanentDeliveryError,
    Receipt,
    TransientDeliveryError,
)


class MockConnector(Connector):
    """Records every attempt; succeeds unless told otherwise.

    ``transient_failures``: each delivery (by ``delivery_id``) fails that many
    times with ``TransientDeliveryError`` (carrying ``retry_after``) before it
    lands. ``permanent_reason``: every delivery fails permanently with it.
    A successful delivery gets ``Receipt(remote_ids={"Task": "task-<referral_id>"})``.
    """

    def __init__(
        self,
        *,
        transient_failures: int = 0,
        retry_after: float | None = None,
        permanent_reason: str | None = None,
    ) -> None:
        self.transient_failures = transient_failures
        self.retry_after = retry_after
        self.permanent_reason = permanent_reason
        self.attempts: list[Delivery] = []
        self.delivered: list[Delivery] = []
        self.closed = False
        self._failed: Counter[str] = Counter()

    async def deliver(self, delivery: Delivery) -> Receipt:
        self.attempts.append(delivery)
        if self.permanent_reason is not None:
            raise PermanentDeliveryError(self.permanent_reason)
        if self._failed[delivery.delivery_id] < self.transient_failures:
            self._failed[delivery.delivery_id] += 1
            raise TransientDeliveryError(
                f"scripted transient failure {self._failed[delivery.delivery_id]}",
                retry_after=self.retry_after,
            )
        self.delivered.append(delivery)
        return Receipt(
            remote_ids={"Task": f"task-{delivery.referral_id}"},
            status_code=201,
            detail="accepted by mock connector",
        )

    def delivered_ids(self) -> Counter[str]:
        """How many times each delivery id landed (more than 1 means a duplicate)."""
        return Counter(delivery.delivery_id for delivery in self.delivered)

    async def aclose(self) -> None:
        self.closed = True
