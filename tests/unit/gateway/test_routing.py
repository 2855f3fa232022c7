"""Routing is a pure function: ordered rules, fallbacks, safety rules, reasons."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import RoutingRule
from gateway.routing import RoutingFacts, route

RULES = [
    RoutingRule.model_validate(r)
    for r in [
        {"name": "imminent", "when": {"risk_level": ["imminent"]}, "send_to": ["crisis", "ehr"]},
        {"name": "clinical", "when": {"pathway": ["clinical"]}, "send_to": ["ehr"]},
        {"name": "severe", "when": {"severity": ["severe"]}, "send_to": ["psychiatry"]},
        {
            "name": "spanish-ca",
            "when": {"language": ["es"], "state": ["CA"]},
            "send_to": ["bilingual"],
        },
        {"name": "sf", "when": {"postal_code_prefix": ["941"]}, "send_to": ["sf-clinic"]},
        {"name": "urgent", "when": {"urgency": ["urgent", "asap"]}, "send_to": ["ehr"]},
        {"name": "signal", "when": {"safety_signal": True}, "send_to": ["on-call"]},
        {"name": "community", "when": {"pathway": ["community"]}, "send_to": ["community"]},
        {"name": "fallback", "send_to": ["inbox"]},
    ]
]
CRISIS = ["crisis", "crisis-2"]


def facts(**changes: Any) -> RoutingFacts:
    base: dict[str, Any] = {"risk_level": "low", "pathway": "self-care", "urgency": "routine"}
    base.update(changes)
    return RoutingFacts(**base)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (facts(), ["inbox"]),
        (facts(pathway="clinical"), ["ehr"]),
        (facts(pathway="community"), ["community"]),
        (facts(risk_level="imminent"), ["crisis", "ehr"]),
        (facts(pathway="clinical", severities=frozenset({"severe"})), ["ehr", "psychiatry"]),
        (facts(language="es-MX", state="ca"), ["bilingual"]),
        (facts(language="es", state="TX"), ["inbox"]),
        (facts(postal_code="94110"), ["sf-clinic"]),
        (facts(postal_code="10001"), ["inbox"]),
        (facts(urgency="asap"), ["ehr"]),
        # Safety: a positive item 9 adds the crisis route even though no rule named it.
        (facts(safety_signal=True), ["on-call", "crisis"]),
        (facts(pathway="community", safety_signal=True), ["on-call", "community", "crisis"]),
    ],
)
def test_rules_pick_destinations_in_order(given: RoutingFacts, expected: list[str]) -> None:
    assert [r.destination for r in route(given, RULES, CRISIS).routes] == expected


def test_every_route_says_why_in_plain_words() -> None:
    decision = route(facts(pathway="clinical", urgency="urgent"), RULES, CRISIS)
    [ehr] = decision.routes
    assert ehr.rules == ("clinical", "urgent")
    assert "clinical pathway" in ehr.reason and "urgency is urgent" in ehr.reason


def test_fallback_only_when_nothing_else_matched() -> None:
    decision = route(facts(pathway="clinical"), RULES, CRISIS)
    assert "fallback" not in decision.matched_rules
    assert route(facts(), RULES, CRISIS).matched_rules == ("fallback",)


def test_imminent_risk_uses_the_crisis_route_a_rule_already_chose() -> None:
    decision = route(facts(risk_level="imminent"), RULES, CRISIS)
    crisis = next(r for r in decision.routes if r.destination == "crisis")
    assert crisis.safety and "imminent" in crisis.reason
    assert [r.destination for r in decision.routes].count("crisis") == 1


def test_safety_rule_cannot_be_configured_away() -> None:
    only_fallback = [RoutingRule.model_validate({"name": "all", "send_to": ["inbox"]})]
    decision = route(facts(risk_level="imminent"), only_fallback, CRISIS)
    assert [r.destination for r in decision.routes] == ["inbox", "crisis"]
    assert decision.routes[1].safety


def test_routing_decision_is_plain_data() -> None:
    as_dict = route(facts(safety_signal=True), RULES, CRISIS).to_dict()
    assert as_dict["routes"][-1] == {
        "destination": "crisis",
        "rules": ["safety"],
        "reason": "An answer shows thoughts of self-harm, so a crisis service is always told.",
        "safety": True,
    }
