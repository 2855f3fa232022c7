"""The port the escalation watcher sends through; bootstrap plugs in the connector
(``connectors.crisis.EscalationNotifier``)."""

from __future__ import annotations

from typing import Protocol

from connectors.crisis import EscalationMessage


class EscalationPort(Protocol):
    async def send(self, message: EscalationMessage) -> str:
        """Notify the contact once; return a short receipt, or raise a ``DeliveryError``
        (``connectors.base``) whose reason says why (never personal data)."""
        ...

    async def aclose(self) -> None:
        """Release network resources."""
        ...


__all__ = ["EscalationMessage", "EscalationPort"]
