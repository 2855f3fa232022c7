"""The one port every destination type implements: ``Connector.deliver()``.

Like an httpx transport: one class, one method. The worker owns retries,
backoff, circuit breaking and bookkeeping; a connector only tries once and
says how it went, translating lower-level errors at the boundary into

    DeliveryError
    ├── TransientDeliveryError   try again later (408, 429, 5xx, timeout, refused)
    └── PermanentDeliveryError   retrying cannot help (other 4xx, bad config)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One attempt to hand one referral to one destination."""

    delivery_id: str
    referral_id: str
    destination: str
    bundle: dict[str, Any]
    """The transaction Bundle, already minimised for this destination."""
    attempt: int = 1
    summary: dict[str, Any] = field(default_factory=dict)
    """Thin, non-clinical facts a notification may carry (risk level, urgency, links)."""


@dataclass(frozen=True)
class Receipt:
    """What the destination said when it took the referral."""

    remote_ids: dict[str, str] = field(default_factory=dict)
    """Resource type -> id the destination assigned (e.g. ``{"Task": "42"}``)."""
    status_code: int | None = None
    detail: str = ""


class DeliveryError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDeliveryError(DeliveryError):
    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    def __init__(self, reason: str, *, outcome: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.outcome = outcome


class Connector(ABC):
    """A destination type. Subclasses are constructed from a destination's config."""

    @abstractmethod
    async def deliver(self, delivery: Delivery) -> Receipt:
        """Hand ``delivery`` over once; raise a ``DeliveryError`` when it did not land."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release network resources."""
