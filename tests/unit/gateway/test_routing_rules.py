"""Routing decisions a wrong router would get wrong: every condition, the rule loop,
the crisis destination the safety rule picks, and reasons that say what they mean."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import RoutingRule
from gateway.routing import RoutingFacts, route, safety_reason


def rule(name: str, send_to: list[str], **when: Any) -> RoutingRule:
    body: dict[str, Any] = {"name": name, "send_to": send_to}
    if when:
        body["when"] = when
    return RoutingRule.model_validate(body)


def facts(**changes: Any) -> RoutingFacts:
    base: dict[str, Any] = {"risk_level": "low", "pathway": "self-care", "urgency": "routine"}
    base.update(changes)
    return RoutingFacts(**base)


def sent_to(
    given: RoutingFacts, rules: list[RoutingRule], crisis: tuple[str, ...] = ()
) -> list[str]:
    return [r.destination for r in route(given, rules, list(crisis)).routes]


# -- each condition, matching and not -------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "matching", "other"),
    [
        ({"risk_level": ["high", "imminent"]}, facts(risk_level="high"), facts(risk_level="low")),
        ({"pathway": ["clinical"]}, facts(pathway="clinical"), facts(pathway="community")),
        ({"urgency": ["stat"]}, facts(urgency="stat"), facts(urgency="urgent")),
        (
            {"severity": ["severe", "moderately-severe"]},
            facts(severities=frozenset({"mild", "moderately-severe"})),
            facts(severities=frozenset({"mild"})),
        ),
        ({"safety_signal": True}, facts(safety_signal=True), facts(safety_signal=False)),
        ({"safety_signal": False}, facts(safety_signal=False), facts(safety_signal=True)),
        ({"state": ["ca", "NY"]}, facts(state="Ca"), facts(state="TX")),
        ({"state": ["CA"]}, facts(state="CA"), facts(state=None)),
        (
            {"postal_code_prefix": ["100", "941"]},
            facts(postal_code="94110"),
            facts(postal_code="94010"),
        ),
        ({"postal_code_prefix": ["941"]}, facts(postal_code="94110"), facts(postal_code=None)),
        ({"postal_code_prefix": ["X"]}, facts(postal_code="X0A 0H0"), facts(postal_code=None)),
        ({"language": ["es"]}, facts(language="es-MX"), facts(language="en-US")),
        ({"language": ["es-MX"]}, facts(language="es"), facts(language="en")),
        ({"language": ["ES-mx"]}, facts(language="es-US"), facts(language=None)),
        ({"language": ["pt", "es"]}, facts(language="ES"), facts(language="fr")),
    ],
)
def test_a_condition_holds_or_not(
    when: dict[str, Any], matching: RoutingFacts, other: RoutingFacts
) -> None:
    rules = [rule("conditional", ["special"], **when), rule("fallback", ["inbox"])]
    assert sent_to(matching, rules) == ["special"]
    assert sent_to(other, rules) == ["inbox"]


def test_every_condition_of_a_rule_must_hold() -> None:
    rules = [
        rule("both", ["special"], pathway=["clinical"], urgency=["urgent"]),
        rule("fallback", ["inbox"]),
    ]
    assert sent_to(facts(pathway="clinical", urgency="urgent"), rules) == ["special"]
    assert sent_to(facts(pathway="clinical"), rules) == ["inbox"]
    assert sent_to(facts(urgency="urgent"), rules) == ["inbox"]


# -- the rule loop ---------------------------------------------------------------------------


def test_a_rule_that_does_not_match_does_not_stop_the_later_ones() -> None:
    rules = [
        rule("clinical", ["ehr"], pathway=["clinical"]),
        rule("urgent", ["urgent-care"], urgency=["urgent"]),
        rule("fallback", ["inbox"]),
    ]
    decision = route(facts(urgency="urgent"), rules, [])
    assert [r.destination for r in decision.routes] == ["urgent-care"]
    assert decision.matched_rules == ("urgent",)


def test_a_fallback_after_a_match_is_skipped_and_later_rules_still_apply() -> None:
    rules = [
        rule("clinical", ["ehr"], pathway=["clinical"]),
        rule("fallback", ["inbox"]),
        rule("urgent", ["urgent-care"], urgency=["urgent"]),
    ]
    decision = route(facts(pathway="clinical", urgency="urgent"), rules, [])
    assert decision.matched_rules == ("clinical", "urgent")
    assert [r.destination for r in decision.routes] == ["ehr", "urgent-care"]


def test_a_fallback_before_other_rules_applies_only_when_nothing_matched_yet() -> None:
    rules = [
        rule("first-fallback", ["inbox"]),
        rule("clinical", ["ehr"], pathway=["clinical"]),
        rule("second-fallback", ["other-inbox"]),
    ]
    decision = route(facts(pathway="clinical"), rules, [])
    assert decision.matched_rules == ("first-fallback", "clinical")
    assert [r.destination for r in decision.routes] == ["inbox", "ehr"]


def test_a_rule_sends_to_each_of_its_destinations_and_a_shared_one_lists_both_rules() -> None:
    rules = [
        rule("clinical", ["ehr", "care-coordinator"], pathway=["clinical"]),
        rule("urgent", ["ehr"], urgency=["urgent"]),
    ]
    decision = route(facts(pathway="clinical", urgency="urgent"), rules, [])
    assert [r.destination for r in decision.routes] == ["ehr", "care-coordinator"]
    ehr, coordinator = decision.routes
    assert ehr.rules == ("clinical", "urgent")
    assert coordinator.rules == ("clinical",)
    assert not ehr.safety and not coordinator.safety
    assert "'clinical'" in ehr.reason and "'urgent'" in ehr.reason
    assert "'urgent'" not in coordinator.reason


def test_no_rule_matching_sends_nowhere_but_says_so() -> None:
    decision = route(facts(), [rule("clinical", ["ehr"], pathway=["clinical"])], ["crisis"])
    assert decision.routes == ()
    assert decision.matched_rules == ()


# -- the safety rules ------------------------------------------------------------------------


def test_the_safety_rule_uses_the_crisis_destination_a_rule_already_chose() -> None:
    rules = [rule("imminent", ["ehr", "crisis-2"], risk_level=["imminent"])]
    decision = route(facts(risk_level="imminent"), rules, ["crisis-1", "crisis-2"])
    assert [r.destination for r in decision.routes] == ["ehr", "crisis-2"]
    ehr, crisis = decision.routes
    assert crisis.safety and not ehr.safety
    assert crisis.rules == ("imminent", "safety")


def test_of_several_crisis_destinations_a_rule_chose_the_first_it_chose_is_used() -> None:
    rules = [rule("imminent", ["crisis-2", "crisis-1"], risk_level=["imminent"])]
    decision = route(facts(risk_level="imminent"), rules, ["crisis-1", "crisis-2"])
    assert [(r.destination, r.safety) for r in decision.routes] == [
        ("crisis-2", True),
        ("crisis-1", False),
    ]


def test_with_no_crisis_destination_chosen_the_first_configured_is_added() -> None:
    decision = route(facts(safety_signal=True), [rule("all", ["inbox"])], ["crisis-1", "crisis-2"])
    assert [(r.destination, r.rules, r.safety) for r in decision.routes] == [
        ("inbox", ("all",), False),
        ("crisis-1", ("safety",), True),
    ]
    assert decision.matched_rules == ("all",)


def test_without_a_signal_no_crisis_route_is_added() -> None:
    decision = route(facts(risk_level="high"), [rule("all", ["inbox"])], ["crisis-1"])
    assert [r.destination for r in decision.routes] == ["inbox"]


def test_with_no_crisis_destination_configured_nothing_is_invented() -> None:
    decision = route(facts(risk_level="imminent"), [rule("all", ["inbox"])], [])
    assert [r.destination for r in decision.routes] == ["inbox"]


def test_the_safety_reason_says_which_signal_it_is() -> None:
    imminent = safety_reason(facts(risk_level="imminent"))
    signal = safety_reason(facts(safety_signal=True))
    both = safety_reason(facts(risk_level="imminent", safety_signal=True))
    assert imminent is not None and signal is not None
    assert "imminent" in imminent and "crisis service" in imminent
    assert "self-harm" in signal and "crisis service" in signal
    assert "imminent" not in signal and "self-harm" not in imminent
    assert both == imminent
    assert safety_reason(facts(risk_level="high")) is None


def test_the_safety_reason_names_the_signal_the_app_reported() -> None:
    reported = facts(safety_signal=True, reported_safety_signals=("harm-to-others-language",))
    reason = safety_reason(reported)
    assert reason is not None
    assert "harm-to-others-language" in reason and "crisis service" in reason
    assert "self-harm" not in reason  # no answer showed it: the app reported it
    first = facts(reported_safety_signals=("self-harm-language", "cssrs-behavior"))
    assert "self-harm-language" in (safety_reason(first) or "")


def test_the_safety_reason_is_added_to_the_crisis_route() -> None:
    rules = [rule("signal", ["crisis"], safety_signal=True)]
    decision = route(facts(safety_signal=True), rules, ["crisis"])
    [crisis] = decision.routes
    assert crisis.safety
    assert "self-harm" in crisis.reason and "'signal'" in crisis.reason
    assert "always told" in crisis.reason


# -- reasons a person reads ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "given", "says"),
    [
        ({"risk_level": ["high"]}, facts(risk_level="high"), "risk level is high"),
        ({"pathway": ["clinical"]}, facts(pathway="clinical"), "clinical pathway"),
        ({"urgency": ["asap"]}, facts(urgency="asap"), "urgency is asap"),
        (
            {"severity": ["moderately-severe", "severe"]},
            facts(severities=frozenset({"severe", "moderately-severe"})),
            "moderately severe range",
        ),
        ({"safety_signal": True}, facts(safety_signal=True), "shows thoughts of self-harm"),
        ({"safety_signal": False}, facts(), "no answer shows thoughts of self-harm"),
        ({"state": ["CA"]}, facts(state="ca"), "lives in ca"),
        ({"postal_code_prefix": ["941"]}, facts(postal_code="94110"), "postal code"),
        ({"language": ["es"]}, facts(language="es-MX"), "'es-MX'"),
    ],
)
def test_a_reason_names_the_condition_and_the_rule(
    when: dict[str, Any], given: RoutingFacts, says: str
) -> None:
    [sent] = route(given, [rule("the-rule", ["somewhere"], **when)], []).routes
    assert says in sent.reason
    assert "'the-rule'" in sent.reason
    assert sent.reason.startswith("Sent here because")
    assert sent.reason.endswith(".")


def test_a_yes_signal_rule_does_not_say_no_answer_shows_it() -> None:
    [sent] = route(facts(safety_signal=True), [rule("r", ["x"], safety_signal=True)], []).routes
    assert "no answer" not in sent.reason


def test_a_reason_with_one_condition_has_no_dangling_and() -> None:
    [sent] = route(facts(pathway="clinical"), [rule("c", ["ehr"], pathway=["clinical"])], []).routes
    assert " and " not in sent.reason
    assert "because the app asked" in sent.reason


def test_a_reason_with_two_conditions_names_both() -> None:
    given = facts(pathway="clinical", urgency="urgent")
    two = rule("two", ["ehr"], pathway=["clinical"], urgency=["urgent"])
    [sent] = route(given, [two], []).routes
    assert "clinical pathway and the urgency is urgent" in sent.reason


def test_a_reason_joins_every_condition_that_held() -> None:
    when = {"pathway": ["clinical"], "urgency": ["urgent"], "risk_level": ["moderate"]}
    given = facts(pathway="clinical", urgency="urgent", risk_level="moderate")
    [sent] = route(given, [rule("three", ["ehr"], **when)], []).routes
    assert "risk level is moderate, the app asked for the clinical pathway and " in sent.reason
    assert sent.reason.endswith("the urgency is urgent (rule 'three').")


def test_a_rule_with_an_empty_condition_matches_and_says_so() -> None:
    [sent] = route(facts(), [RoutingRule.model_validate(
        {"name": "everyone", "when": {}, "send_to": ["inbox"]}
    )], []).routes
    assert "every referral" in sent.reason and "'everyone'" in sent.reason


def test_the_fallback_reason_says_no_other_rule_matched() -> None:
    [sent] = route(facts(), [rule("fallback", ["inbox"])], []).routes
    assert "No other rule matched" in sent.reason
    assert sent.rules == ("fallback",)


def test_a_destination_two_rules_chose_gives_both_reasons_in_order_once_each() -> None:
    rules = [rule("a", ["ehr"]), rule("b", ["ehr"], pathway=["self-care"])]
    [ehr] = route(facts(), rules, []).routes
    [alone_a] = route(facts(), rules[:1], []).routes
    [alone_b] = route(facts(), rules[1:], []).routes
    assert ehr.reason == f"{alone_a.reason} {alone_b.reason}"
    assert ehr.reason.count("default place") == 1
    same_twice = [rule("a", ["ehr"]), rule("a", ["ehr"], pathway=["self-care"])]
    assert route(facts(), same_twice, []).routes[0].rules == ("a", "a")


def test_a_safety_reason_is_a_sentence_of_its_own() -> None:
    reported = facts(safety_signal=True, reported_safety_signals=("cssrs-behavior",))
    for given in (facts(risk_level="imminent"), facts(safety_signal=True), reported):
        reason = safety_reason(given)
        assert reason is not None
        assert reason[0].isupper() and reason.endswith(".")
        [crisis] = route(given, [], ["crisis"]).routes
        assert crisis.reason == reason and crisis.rules == ("safety",)


def test_the_fallback_reason_is_a_sentence_of_its_own() -> None:
    [sent] = route(facts(), [rule("fallback", ["inbox"])], []).routes
    assert sent.reason[0].isupper() and sent.reason.endswith(".")


def test_a_decision_serialises_every_route() -> None:
    rules = [rule("clinical", ["ehr"], pathway=["clinical"])]
    decision = route(facts(pathway="clinical", risk_level="imminent"), rules, ["crisis"])
    as_dict = decision.to_dict()
    assert as_dict["matched_rules"] == ["clinical"]
    assert as_dict["routes"] == [
        {"destination": r.destination, "rules": list(r.rules), "reason": r.reason,
         "safety": r.safety}
        for r in decision.routes
    ]
    assert [r["safety"] for r in as_dict["routes"]] == [False, True]
