"""Where a paused model version's referral goes (gateway/paused_routing.py): a person."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import ConfigError, parse_config
from gateway.paused_routing import route_paused
from gateway.routing import Route, RoutingDecision, RoutingFacts

RULES = RoutingDecision(routes=(Route("ehr", ("clinical",), "rules"),), matched_rules=("clinical",))


def _config(**extra: Any) -> Any:
    destinations = [
        {"name": "ehr", "type": "fhir", "base_url": "https://ehr.example.org/fhir"},
        {"name": "desk", "type": "crisis"},
        {"name": "ops", "type": "inbox"},
        *extra.pop("more", []),
    ]
    return parse_config(
        {"destinations": destinations, "routing": [{"name": "all", "send_to": ["ehr"]}], **extra}
    )


def _facts(level: str = "moderate", safety: bool = False) -> RoutingFacts:
    return RoutingFacts(
        risk_level=level, pathway="clinical", urgency="routine", safety_signal=safety
    )


@pytest.mark.parametrize(
    ("config", "facts", "target"),
    [
        (_config(), _facts(), "desk"),  # no `inbox`, no models_paused_route: the crisis desk
        (_config(more=[{"name": "inbox", "type": "inbox"}]), _facts(), "inbox"),
        (_config(models_paused_route="ops"), _facts(), "ops"),
        (_config(models_paused_route="ops"), _facts("high"), "desk"),
        (_config(models_paused_route="ops"), _facts("imminent"), "desk"),
        (_config(models_paused_route="ops"), _facts("low", safety=True), "desk"),
    ],
)
def test_a_paused_versions_referral_goes_to_one_human_desk(
    config: Any, facts: RoutingFacts, target: str
) -> None:
    decision = route_paused(RULES, facts, config, model=("m", "1"))
    assert [r.destination for r in decision.routes] == [target]
    assert decision.routes[0].model_paused and decision.model_paused
    assert "m 1" in decision.routes[0].reason and decision.to_dict()["model_paused"] is True


def test_models_paused_route_must_name_a_destination() -> None:
    with pytest.raises(ConfigError, match="models_paused_route"):
        _config(models_paused_route="nowhere")
