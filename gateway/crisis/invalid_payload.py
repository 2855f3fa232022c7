"""A payload refused as invalid never stops the crisis path (CONTRACT.md v1.1, "Intake,
made precise"; docs/crisis.md, "When a payload is refused as invalid").

Intake checks with the rules delivery checks with, so this should never happen. If the
worker's R4B check ever refuses a delivery's Bundle anyway:

- an operator is alerted at once: the log line ``delivery.payload_refused`` (error
  level, ``outcome="operator-alerted"``, ``reason_code`` what was done instead) and the
  counter ``gateway_payloads_refused_total``;
- a crisis destination still gets its thin notification: it needs no full Bundle, only
  the person, the risk and the request (``THIN_TYPES``), so it is sent those;
- any other destination's delivery is dead-lettered with the reason, as before, where
  operators replay it once the data is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.base import PermanentDeliveryError
from gateway.logging import get_logger
from gateway.metrics import Metrics
from mappings.validation import validate_bundle

log = get_logger("gateway.delivery")

THIN_TYPES = frozenset({"Patient", "RiskAssessment", "ServiceRequest", "Task"})
"""What a crisis notification is built from (``connectors.crisis.crisis_payload``)."""


@dataclass(frozen=True)
class Checked:
    """The Bundle to send, or the error to dead-letter the delivery with."""

    bundle: dict[str, Any]
    refused: PermanentDeliveryError | None = None


def thin_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    """Only the entries a crisis notification reads."""
    return {
        **bundle,
        "entry": [
            e
            for e in bundle.get("entry", [])
            if (e.get("resource") or {}).get("resourceType") in THIN_TYPES
        ],
    }


def check_payload(
    bundle: dict[str, Any],
    *,
    category: str,
    destination: str,
    referral_id: str,
    delivery_id: str,
    metrics: Metrics | None,
) -> Checked:
    """``bundle`` when it is valid FHIR; otherwise alert, and thin it for a crisis service."""
    problems = validate_bundle(bundle)
    if not problems:
        return Checked(bundle)
    crisis = category == "crisis"
    action = "thin-notification" if crisis else "dead-lettered"
    if metrics is not None:
        metrics.payloads_refused.labels(destination, action).inc()
    log.error(  # only allowlisted fields (gateway.logging): never a value from the data
        "delivery.payload_refused",
        outcome="operator-alerted",
        reason_code=action,
        referral_id=referral_id,
        delivery_id=delivery_id,
        destination=destination,
        count=len(problems),
    )
    if crisis:
        return Checked(thin_bundle(bundle))
    return Checked(bundle, PermanentDeliveryError("not valid FHIR: " + problems[0]))
