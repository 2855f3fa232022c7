"""The port the escalation watcher sends through; bootstrap plugs in the webhook adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EscalationMessage:
    """One escalation step for one unacknowledged crisis delivery."""

    message_id: str
    """Stable per step: a retried step is recognisably the same message."""
    referral_id: str
    step: int
    contact_name: str
    contact_url: str
    unacknowledged_seconds: float
    links: dict[str, str]


class EscalationFailed(Exception):
    """The contact was not reached; ``reason`` says why (never personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EscalationPort(Protocol):
    async def send(self, message: EscalationMessage) -> str:
        """Notify the contact once; return a short receipt, or raise ``EscalationFailed``."""
        ...

    async def aclose(self) -> None:
        """Release network resources."""
        ...
