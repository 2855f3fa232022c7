"""The built-in referral inbox: delivery makes the Task visible to its owner.

A clinic or community organisation without an EHR polls the gateway's own FHIR
surface (``Task?owner=...``). The connector does not touch the store itself; it
calls an ``InboxPublisher`` the composition root supplies.
"""

from __future__ import annotations

from typing import Protocol

from connectors.base import Connector, Delivery, PermanentDeliveryError, Receipt


class InboxPublisher(Protocol):
    async def publish(self, referral_id: str, destination: str) -> str | None:
        """Make the destination's Task visible; return its id (None if there is none)."""


class InboxConnector(Connector):
    def __init__(self, publisher: InboxPublisher) -> None:
        self.publisher = publisher

    async def deliver(self, delivery: Delivery) -> Receipt:
        task_id = await self.publisher.publish(delivery.referral_id, delivery.destination)
        if task_id is None:
            raise PermanentDeliveryError("the referral has no Task for this inbox")
        return Receipt(remote_ids={"Task": task_id}, detail="visible in the inbox")
