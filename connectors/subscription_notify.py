"""Sending an R4 Subscriptions Backport notification to a rest-hook endpoint.

http://hl7.org/fhir/uv/subscriptions-backport/STU1.1/channels.html#rest-hook: the
notification Bundle is POSTed as ``application/fhir+json``, each ``channel.header``
string sent as an HTTP header. One attempt per call; the outcome is a ``Receipt`` or
a ``DeliveryError`` (``connectors.http_errors`` maps httpx's errors and status codes).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from connectors.base import Receipt
from connectors.http_errors import delivery_error_for, delivery_error_from_transport

FHIR_JSON = "application/fhir+json"


def channel_headers(lines: Sequence[str]) -> dict[str, str]:
    """``Name: value`` strings (``Subscription.channel.header``) as HTTP headers."""
    headers = {"Content-Type": FHIR_JSON}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return headers


class SubscriptionNotifier:
    """POSTs notification Bundles; ``client`` carries the outbound guard and timeouts."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(
        self,
        endpoint: str,
        bundle: Mapping[str, Any],
        header_lines: Sequence[str],
        *,
        what: str,
    ) -> Receipt:
        try:
            response = await self.client.post(
                endpoint, content=orjson.dumps(bundle), headers=channel_headers(header_lines)
            )
        except httpx.TransportError as exc:
            raise delivery_error_from_transport(exc, what=what) from exc
        error = delivery_error_for(response, what=what, now=time.time())
        if error is not None:
            raise error
        return Receipt(status_code=response.status_code, detail="delivered")

    async def aclose(self) -> None:
        await self.client.aclose()
