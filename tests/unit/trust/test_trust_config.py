"""``models:`` and ``drift:``: a bad card is refused at start, naming the key."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from trust_rig import CARD

from gateway.config import ConfigError, parse_config


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "destinations": [{"name": "inbox", "type": "inbox"}, {"name": "crisis", "type": "crisis"}],
        "routing": [{"name": "fallback", "send_to": ["inbox"]}],
        **extra,
    }


def _card(**changes: Any) -> dict[str, Any]:
    card = copy.deepcopy(CARD)
    card.update(changes)
    return {k: v for k, v in card.items() if v is not None}


def test_a_card_with_every_hti1_attribute_is_accepted() -> None:
    config = parse_config(_config(models=[_card()], drift={"min_referrals": 50}))
    assert config.models[0].versions == ["2.3.1", "2.4.0"]
    assert config.drift.min_referrals == 50 and config.drift.psi_alert == 0.25


def test_no_models_and_default_drift() -> None:
    config = parse_config(_config())
    assert config.models == []
    assert (config.drift.min_referrals, config.drift.under_triage_alert) == (30, 0.1)


@pytest.mark.parametrize(
    ("card", "where", "what"),
    [
        (
            _card(expected_risk_levels={"none": 0.5, "low": 0.5}),
            "models.0.expected_risk_levels",
            "five risk levels",
        ),
        (
            _card(
                expected_risk_levels={
                    "none": 0.5,
                    "low": 0.4,
                    "moderate": 0.05,
                    "high": 0.0,
                    "imminent": 0.0,
                }
            ),
            "models.0.expected_risk_levels",
            "sum to 1",
        ),
        (
            _card(
                expected_risk_levels={
                    "none": 1.5,
                    "low": -0.5,
                    "moderate": 0,
                    "high": 0,
                    "imminent": 0,
                }
            ),
            "models.0.expected_risk_levels",
            "between 0",
        ),
        (_card(fairness=None), "models.0.fairness", "Field required"),
        (_card(intended_use=""), "models.0.intended_use", "at least 1"),
        (_card(versions=[]), "models.0.versions", "at least one"),
    ],
)
def test_a_bad_card_is_refused_naming_the_key(card: dict[str, Any], where: str, what: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(_config(models=[card]))
    assert where in str(refused.value) and what in str(refused.value)


def test_a_version_declared_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="declared twice"):
        parse_config(_config(models=[_card(), _card(versions=["2.4.0"])]))


def test_a_placeholder_webhook_secret_for_drift_alerts_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"drift\.webhook\.secret"):
        parse_config(_config(drift={"webhook": {"url": "https://ops.example.org", "secret": "x"}}))
