"""The escalation port over Standard Webhooks (``connectors.crisis.EscalationNotifier``).

Only the composition root constructs these; the web layer never imports this module.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from connectors.base import DeliveryError
from connectors.crisis import EscalationContact, EscalationNotifier
from gateway.config import CrisisDestination, GatewayConfig
from gateway.context import Clock
from gateway.crisis.ports import EscalationFailed, EscalationMessage, EscalationPort


class WebhookEscalation(EscalationPort):
    """Signs every escalation with the crisis destination's webhook secret."""

    def __init__(self, secret: str, client: httpx.AsyncClient, clock: Clock) -> None:
        self._client = client
        self._notifier = EscalationNotifier(secret, client, clock=lambda: clock().timestamp())

    async def send(self, message: EscalationMessage) -> str:
        try:
            receipt = await self._notifier.notify(
                EscalationContact(name=message.contact_name, url=message.contact_url),
                message_id=message.message_id,
                referral_id=message.referral_id,
                step=message.step,
                unacknowledged_seconds=message.unacknowledged_seconds,
                links=message.links,
            )
        except DeliveryError as exc:
            raise EscalationFailed(exc.reason) from exc
        return receipt.detail

    async def aclose(self) -> None:
        await self._client.aclose()


def escalation_ports(
    config: GatewayConfig,
    client_for: Callable[[CrisisDestination], httpx.AsyncClient],
    clock: Clock,
) -> dict[str, EscalationPort]:
    """One port per crisis destination that has escalation contacts (and so a secret)."""
    ports: dict[str, EscalationPort] = {}
    for destination in config.crisis_destinations:
        if destination.escalation and destination.secret:
            ports[destination.name] = WebhookEscalation(
                destination.secret, client_for(destination), clock
            )
    return ports
