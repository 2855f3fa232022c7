"""Translate HTTP outcomes into the delivery error tree of ``connectors.base``.

    2xx                                  success
    3xx                                  PermanentDeliveryError (redirects are not followed)
    410                                  EndpointGone (permanent; disable the endpoint)
    408, 425, 429, 5xx                   TransientDeliveryError, with Retry-After
    other 4xx                            PermanentDeliveryError
    BlockedAddress                       PermanentDeliveryError (outbound policy)
    UnsupportedProtocol                  PermanentDeliveryError (bad URL in config)
    timeout, refused, reset, other I/O   TransientDeliveryError

``Retry-After`` is read as delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
Reasons name the status only, never the response body, which may carry data
the gateway must not store.
"""

from __future__ import annotations

import email.utils
from datetime import datetime

import httpx

from connectors.base import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from connectors.outbound import BlockedAddress

TRANSIENT_STATUSES = frozenset({408, 425, 429})


class EndpointGone(PermanentDeliveryError):
    """The receiver answered 410 Gone: stop sending to this endpoint."""

    endpoint_gone = True


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait, from a ``Retry-After`` value; ``now`` is Unix time for HTTP-dates."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when: datetime = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def delivery_error_for(response: httpx.Response, *, what: str, now: float) -> DeliveryError | None:
    """The error a non-2xx ``response`` means, or ``None`` for success."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    reason = f"{what} answered {status} {response.reason_phrase}".rstrip()
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        return PermanentDeliveryError(f"{reason}: redirect to {location!r} not followed")
    if status == 410:
        return EndpointGone(f"{reason}: endpoint is gone")
    if status in TRANSIENT_STATUSES or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=now)
        return TransientDeliveryError(reason, retry_after=retry_after)
    return PermanentDeliveryError(reason)


def delivery_error_from_transport(exc: httpx.TransportError, *, what: str) -> DeliveryError:
    """The error a failed exchange (no HTTP answer) means."""
    if isinstance(exc, BlockedAddress):
        return PermanentDeliveryError(f"{what}: {exc}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return PermanentDeliveryError(f"{what}: unsupported URL ({exc})")
    if isinstance(exc, httpx.TimeoutException):
        return TransientDeliveryError(f"{what} timed out ({type(exc).__name__})")
    return TransientDeliveryError(f"{what} unreachable ({type(exc).__name__}: {exc})")
