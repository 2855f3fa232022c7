"""The life of one queued item (a delivery or a notification) and the moves it may make.

    pending ──claim──> delivering ──> delivered | dead | withheld | cancelled | skipped
       ^                  │  ^
       └── retry ─────────┘  └── lease ran out: claimed again
    dead ──operator replay──> pending
    pending | delivering ──consent revoked, erasure──> withheld

``DeliveryStatus.to`` refuses any other move, so a bug cannot, say, resend a delivered
referral. docs/delivery.md tells the whole story.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    DEAD = "dead"
    """Dead-lettered: waits for a person (``gateway dead-letters``)."""
    WITHHELD = "withheld"
    """Consent did not allow it (at the re-check, or revoked before it went)."""
    CANCELLED = "cancelled"
    """The requester cancelled the Task before it was sent."""
    SKIPPED = "skipped"
    """A notification with nothing to send to any more (endpoint gone, subscription off)."""

    def may_become(self, new: DeliveryStatus) -> bool:
        return new in _ALLOWED[self]

    def to(self, new: DeliveryStatus) -> DeliveryStatus:
        """``new``, when this status may move there; else ``InvalidTransition``."""
        if not self.may_become(new):
            raise InvalidTransition(self, new)
        return new


class InvalidTransition(ValueError):
    def __init__(self, old: DeliveryStatus, new: DeliveryStatus) -> None:
        super().__init__(f"a {old.value} item cannot become {new.value}")
        self.old, self.new = old, new


_ALLOWED: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.DELIVERING, DeliveryStatus.WITHHELD}),
    DeliveryStatus.DELIVERING: frozenset(
        {
            DeliveryStatus.DELIVERING,
            DeliveryStatus.PENDING,
            DeliveryStatus.DELIVERED,
            DeliveryStatus.DEAD,
            DeliveryStatus.WITHHELD,
            DeliveryStatus.CANCELLED,
            DeliveryStatus.SKIPPED,
        }
    ),
    DeliveryStatus.DEAD: frozenset({DeliveryStatus.PENDING}),
    DeliveryStatus.DELIVERED: frozenset(),
    DeliveryStatus.WITHHELD: frozenset(),
    DeliveryStatus.CANCELLED: frozenset(),
    DeliveryStatus.SKIPPED: frozenset(),
}

OPEN = frozenset({DeliveryStatus.PENDING, DeliveryStatus.DELIVERING})
"""Still to be sent: what a revocation or an erasure withholds."""
SETTLED = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.WITHHELD,
        DeliveryStatus.DEAD,
        DeliveryStatus.CANCELLED,
    }
)
"""A delivery with an outcome: nothing more will happen unless a person replays it."""


class AttemptOutcome(StrEnum):
    """What one attempt came to, as written to the attempt log and the metrics."""

    DELIVERED = "delivered"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    WITHHELD = "withheld"
    SKIPPED = "skipped"
    FAILED = "failed"
    GONE = "gone"
