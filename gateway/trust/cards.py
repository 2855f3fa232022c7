"""The model card a clinician sees beside the AI's output (CONTRACT.md v1.1, "Models ...").

Served at ``GET /models/{name}/{version}``; linked from ``GET /referrals/{id}`` and from
the Provenance of the AI's RiskAssessment. A model not declared in ``models:`` has no
card: it is shown as ``declared: false``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from gateway.trust.config import ModelCard, card_attributes, find_card


def card_path(name: str, version: str) -> str:
    return f"/models/{quote(name, safe='')}/{quote(version, safe='')}"


def card_view(cards: list[ModelCard], name: str, version: str) -> dict[str, Any]:
    """The card of ``name`` ``version``, or ``declared: false`` when no card declares it."""
    card = find_card(cards, name, version)
    if card is None:
        return {"name": name, "version": version, "declared": False}
    return {
        "name": name,
        "version": version,
        "declared": True,
        "link": card_path(name, version),
        **card_attributes(card),
    }


def card_url_for(cards: list[ModelCard], public_url: str) -> Callable[[str, str], str | None]:
    """``(name, version) -> the card's absolute URL``, None for an undeclared model."""
    base = public_url.rstrip("/")

    def url(name: str, version: str) -> str | None:
        return base + card_path(name, version) if find_card(cards, name, version) else None

    return url


def referral_model(explanation: dict[str, Any]) -> tuple[str, str]:
    """The model (name, version) of a referral, from its stored explanation."""
    model = explanation.get("model") or {}
    return str(model.get("name", "")), str(model.get("version", ""))
