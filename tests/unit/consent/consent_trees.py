"""Hand-made Consent trees and decision requests for the consent engine's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from consent.engine import DecisionRequest, Recipient
from consent.vocab import ACT_CODE, RECIPIENT_CATEGORY_SYSTEM

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EHR = Recipient("ehr", "st-mary-ehr")
CRISIS = Recipient("crisis", "county-crisis")
COMMUNITY = Recipient("community", "food-bank")


def actor(category: str, system: str = RECIPIENT_CATEGORY_SYSTEM) -> dict[str, Any]:
    return {"reference": {"identifier": {"system": system, "value": category}}}


def consent(
    *children: dict[str, Any],
    base: str = "deny",
    consent_id: str = "c1",
    when: str | None = "2026-11-01T09:00:00Z",
    **root: Any,
) -> dict[str, Any]:
    made: dict[str, Any] = {
        "resourceType": "Consent",
        "id": consent_id,
        "status": "active",
        "provision": {"type": base, **root, "provision": list(children)},
    }
    if when is not None:
        made["dateTime"] = when
    return made


def permit(category: str = "ehr", **extra: Any) -> dict[str, Any]:
    return {"type": "permit", "actor": [actor(category)], **extra}


def deny(category: str = "ehr", **extra: Any) -> dict[str, Any]:
    return {"type": "deny", "actor": [actor(category)], **extra}


def label(code: str, system: str = ACT_CODE, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


def request(
    recipient: Recipient = EHR,
    purpose: str = "TREAT",
    labels: tuple[str, ...] = (),
    classes: tuple[str, ...] = (),
    risk: str | None = None,
) -> DecisionRequest:
    return DecisionRequest(recipient, purpose, frozenset(labels), frozenset(classes), risk)
