"""Standard Webhooks 1.0.0: signing, verifying and sending.

Specification: https://www.standardwebhooks.com (standard-webhooks/standard-webhooks,
``spec/standard-webhooks.md``), sections "Signature scheme", "Webhook headers",
"Verifying signatures" and "Delivery success and failure".

- Signed content is ``{msg_id}.{timestamp}.{body}``; the signature is
  ``v1,`` + base64(HMAC-SHA256(key, content)), key = base64-decoded secret after
  its ``whsec_`` prefix.
- Headers ``webhook-id`` (same on every retry), ``webhook-timestamp`` (Unix
  seconds, fresh on every attempt), ``webhook-signature`` (space-separated list).
- Only 2xx is success; redirects are not followed; 410 disables the endpoint;
  ``Retry-After`` is honoured (see ``connectors.http_errors``).
- Payloads follow "Payload structure" (``type``, ``timestamp``, ``data``) and
  are thin: ids and links, never clinical content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from connectors.base import Connector, Delivery, Receipt
from connectors.http_errors import delivery_error_for, delivery_error_from_transport
from mappings.instants import fhir_instant

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
SIGNATURE_VERSION = "v1"
MIN_KEY_BYTES = 24
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(Exception):
    """A received webhook is not authentic or not fresh; ``reason`` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_secret(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; ``ValueError`` if the secret is malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secret must start with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not base64 after its prefix") from exc
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"webhook secret must hold at least {MIN_KEY_BYTES} bytes")
    return key


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one webhook attempt."""
    if "." in msg_id:
        raise ValueError("webhook message id must not contain '.'")
    return f"{SIGNATURE_VERSION},{_signature(decode_secret(secret), msg_id, timestamp, body)}"


def webhook_headers(secret: str, msg_id: str, body: bytes, now: int) -> dict[str, str]:
    """The three Standard Webhooks headers for an attempt made at Unix time ``now``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secret, msg_id, now, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a received webhook; raise ``WebhookVerificationError`` unless authentic and fresh.

    ``headers`` may be any mapping (names are matched case-insensitively); ``now``
    is the receiver's Unix time; timestamps more than ``tolerance`` seconds away
    from it, in either direction, are refused.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [
        name
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        if not lowered.get(name)
    ]
    if missing:
        raise WebhookVerificationError(f"missing header(s): {', '.join(missing)}")
    msg_id = lowered["webhook-id"]
    try:
        timestamp = int(lowered["webhook-timestamp"])
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance window")
    expected = _signature(decode_secret(secret), msg_id, timestamp, body).encode("ascii")
    for candidate in lowered["webhook-signature"].split():
        version, _, value = candidate.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(expected, value.encode("ascii")):
            return
    raise WebhookVerificationError("no signature matches")


def event_time(unix_time: float) -> str:
    """A payload ``timestamp``: RFC 3339 in UTC with a ``Z`` suffix."""
    return fhir_instant(datetime.fromtimestamp(unix_time, UTC), "auto")


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON bytes: what is signed is exactly what is sent."""
    return orjson.dumps(payload)


class WebhookSender:
    """POSTs signed JSON payloads to one endpoint; one attempt per call.

    ``client`` should come from ``connectors.outbound.make_client`` (address
    checks, no redirects, timeouts). ``clock`` gives Unix time for the signature
    timestamp and for ``Retry-After`` dates.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        what: str = "webhook endpoint",
    ) -> None:
        decode_secret(secret)
        self.url = url
        self._secret = secret
        self._client = client
        self._clock = clock
        self._what = what

    async def aclose(self) -> None:
        """Close the HTTP client (it belongs to this sender)."""
        await self._client.aclose()

    async def send(self, msg_id: str, payload: Mapping[str, Any]) -> Receipt:
        """Send ``payload`` as message ``msg_id`` (keep it the same across retries)."""
        body = encode_payload(payload)
        now = self._clock()
        headers = {
            "content-type": "application/json",
            **webhook_headers(self._secret, msg_id, body, int(now)),
        }
        try:
            response = await self._client.post(
                self.url, content=body, headers=headers, follow_redirects=False
            )
        except httpx.TransportError as exc:
            raise delivery_error_from_transport(exc, what=self._what) from exc
        error = delivery_error_for(response, what=self._what, now=self._clock())
        if error is not None:
            raise error
        return Receipt(status_code=response.status_code, detail=f"{self._what} accepted {msg_id}")


REFERRAL_EVENT = "referral.created"


def referral_notification(delivery: Delivery, *, event_type: str, now: float) -> dict[str, Any]:
    """A thin referral notification: ids, urgency, recipient (and for a community service
    the HSDS service it was sent to) and links its recipient can follow with its own
    token; no clinical content."""
    summary = delivery.summary
    data = {
        "referral_id": delivery.referral_id,
        "urgency": summary.get("urgency"),
        "recipient": summary.get("recipient"),
        "service": summary.get("service"),
        "links": dict(summary.get("links", {})),
    }
    return {
        "type": event_type,
        "timestamp": event_time(now),
        "data": {key: value for key, value in data.items() if value is not None},
    }


class WebhookConnector(Connector):
    """Delivers a referral as a thin, signed notification; the receiver fetches the rest.

    The message id is the delivery id, so retries are recognisably the same message.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        client: httpx.AsyncClient,
        *,
        event_type: str = REFERRAL_EVENT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sender = WebhookSender(url, secret, client, clock=clock)
        self._event_type = event_type
        self._clock = clock

    async def deliver(self, delivery: Delivery) -> Receipt:
        payload = referral_notification(delivery, event_type=self._event_type, now=self._clock())
        return await self._sender.send(delivery.delivery_id, payload)

    async def aclose(self) -> None:
        await self._sender.aclose()
