"""``models:`` and ``drift:`` in the YAML (CONTRACT.md v1.1, "Models, clinicians' reviews ...").

A model card carries the source attributes ONC HTI-1 asks of predictive decision
support (45 CFR 170.315(b)(11)(iv)(B): developer, intended use and population, what
it is out of scope for, known limitations, validation, fairness, maintenance) and the
risk-level mix its validation found, against which drift is measured.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

RISK_LEVELS = ("none", "low", "moderate", "high", "imminent")
SHARE_TOLERANCE = 0.01
"""How far the declared shares may sum from 1 (rounding in a published card)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_Text = Annotated[str, Field(min_length=1)]


class ModelCard(_Strict):
    """One declared triage model: the versions it covers and its HTI-1 source attributes."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    versions: list[Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")]]
    developer: _Text
    intended_use: _Text
    intended_population: _Text
    out_of_scope: _Text
    limitations: _Text
    validation: _Text
    fairness: _Text
    maintenance: _Text
    expected_risk_levels: dict[str, float] | None = None
    """Share of each of the five risk levels in validation; absent: drift is not measured."""

    @field_validator("versions")
    @classmethod
    def _versions(cls, versions: list[str]) -> list[str]:
        if not versions:
            raise ValueError("declare at least one version")
        if len(set(versions)) != len(versions):
            raise ValueError("versions must be unique")
        return versions

    @field_validator("expected_risk_levels")
    @classmethod
    def _mix(cls, mix: dict[str, float] | None) -> dict[str, float] | None:
        if mix is None:
            return None
        if sorted(mix) != sorted(RISK_LEVELS):
            raise ValueError(
                f"give a share for each of the five risk levels: {', '.join(RISK_LEVELS)}"
            )
        if any(not math.isfinite(v) or v < 0 or v > 1 for v in mix.values()):
            raise ValueError("each share must be between 0 and 1")
        total = sum(mix.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"the shares must sum to 1 (they sum to {total:.3f})")
        return {level: mix[level] for level in RISK_LEVELS}


def _unique_versions(cards: list[ModelCard]) -> list[ModelCard]:
    seen: set[tuple[str, str]] = set()
    for card in cards:
        for version in card.versions:
            if (card.name, version) in seen:
                raise ValueError(f"model {card.name} version {version} is declared twice")
            seen.add((card.name, version))
    return cards


ModelCards = Annotated[list[ModelCard], AfterValidator(_unique_versions)]


class OperatorWebhook(_Strict):
    """Where a drift alert is sent (Standard Webhooks, signed with ``secret``)."""

    url: str = Field(min_length=1)
    secret: str

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        from gateway.config import _check_webhook_secret  # the one whsec_ rule

        return _check_webhook_secret(value)


class DriftConfig(_Strict):
    """When a model version's output is said to drift from its card."""

    min_referrals: int = Field(default=30, ge=1)
    """Below this many referrals in the period, PSI and alert are null: no verdict."""
    psi_alert: float = Field(default=0.25, gt=0)
    under_triage_alert: float = Field(default=0.1, ge=0, le=1)
    min_reviews: int = Field(default=11, ge=1)
    """Reviews needed before the under-triage rate may raise an alert."""
    window_days: int = Field(default=30, ge=1)
    """The live alert looks at referrals received in the last this many days."""
    check_seconds: float = Field(default=10.0, gt=0)
    webhook: OperatorWebhook | None = None


def find_card(cards: list[ModelCard], name: str, version: str) -> ModelCard | None:
    for card in cards:
        if card.name == name and version in card.versions:
            return card
    return None


def declared_versions(cards: list[ModelCard]) -> list[tuple[str, str]]:
    return [(card.name, version) for card in cards for version in card.versions]


def card_attributes(card: ModelCard) -> dict[str, Any]:
    """The HTI-1 source attributes and the declared mix, as a clinician reads them."""
    return card.model_dump(exclude={"name", "versions"})
