"""Routing: ordered rules pick destinations, each with a plain-language reason. Pure.

Every matching rule adds its destinations; a rule without ``when`` is a fallback
used only when no earlier rule matched. Safety rules that configuration cannot
switch off: imminent risk, a positive PHQ-9 item 9 or a positive C-SSRS ideation
answer, or a safety signal the app reports (``mappings/signals.yaml``) always add the
crisis route.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.config import RoutingRule, RuleCondition


@dataclass(frozen=True)
class RoutingFacts:
    risk_level: str
    pathway: str
    urgency: str
    severities: frozenset[str] = frozenset()
    safety_signal: bool = False
    """An answer shows a safety signal, or the app reported one (``mappings/signals.yaml``)."""
    reported_safety_signals: tuple[str, ...] = ()
    """The app's reported safety signals, when no answer shows one (for the reason's words)."""
    state: str | None = None
    postal_code: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Route:
    destination: str
    rules: tuple[str, ...]
    reason: str
    safety: bool = False
    """Added by a safety rule: the crisis lane, never skipped silently."""
    model_paused: bool = False
    """Chosen because the referring model version is paused (gateway/paused_routing.py)."""


@dataclass(frozen=True)
class RoutingDecision:
    routes: tuple[Route, ...]
    matched_rules: tuple[str, ...] = field(default_factory=tuple)
    model_paused: str | None = None
    """Why a person sees this referral instead of the rules: its model version is paused."""

    def to_dict(self) -> dict[str, object]:
        paused = {"model_paused": True, "model_paused_reason": self.model_paused}
        return {
            **(paused if self.model_paused else {}),
            "matched_rules": list(self.matched_rules),
            "routes": [
                {
                    "destination": r.destination,
                    "rules": list(r.rules),
                    "reason": r.reason,
                    "safety": r.safety,
                }
                for r in self.routes
            ],
        }


def _matches(when: RuleCondition, facts: RoutingFacts) -> list[str] | None:
    """The plain-language reasons this condition holds, or None when it does not."""
    reasons: list[str] = []
    if when.risk_level is not None:
        if facts.risk_level not in when.risk_level:
            return None
        reasons.append(f"the risk level is {facts.risk_level}")
    if when.pathway is not None:
        if facts.pathway not in when.pathway:
            return None
        reasons.append(f"the app asked for the {facts.pathway} pathway")
    if when.urgency is not None:
        if facts.urgency not in when.urgency:
            return None
        reasons.append(f"the urgency is {facts.urgency}")
    if when.severity is not None:
        hit = sorted(facts.severities.intersection(when.severity))
        if not hit:
            return None
        reasons.append(f"a score is in the {hit[0].replace('-', ' ')} range")
    if when.safety_signal is not None:
        if facts.safety_signal != when.safety_signal:
            return None
        reasons.append(
            "an answer shows thoughts of self-harm"
            if facts.safety_signal
            else "no answer shows thoughts of self-harm"
        )
    if when.state is not None:
        if facts.state is None or facts.state.upper() not in {s.upper() for s in when.state}:
            return None
        reasons.append(f"the person lives in {facts.state}")
    if when.postal_code_prefix is not None:
        code = facts.postal_code or ""
        if not any(code.startswith(prefix) for prefix in when.postal_code_prefix):
            return None
        reasons.append("the person's postal code is in this area")
    if when.language is not None:
        lang = (facts.language or "").split("-")[0].lower()
        if lang not in {x.split("-")[0].lower() for x in when.language}:
            return None
        reasons.append(f"the person prefers the language '{facts.language}'")
    return reasons or ["the rule matches every referral"]


def _join(reasons: list[str]) -> str:
    return reasons[0] if len(reasons) == 1 else ", ".join(reasons[:-1]) + " and " + reasons[-1]


def safety_reason(facts: RoutingFacts) -> str | None:
    if facts.risk_level == "imminent":
        return "The risk level is imminent, so a crisis service is always told."
    if facts.reported_safety_signals:
        return (
            f"The app reported the safety signal {facts.reported_safety_signals[0]} "
            "(a sign of possible harm to self or others), so a crisis service is always told."
        )
    if facts.safety_signal:
        return "An answer shows thoughts of self-harm, so a crisis service is always told."
    return None


def route(
    facts: RoutingFacts, rules: list[RoutingRule], crisis_destinations: list[str]
) -> RoutingDecision:
    order: list[str] = []
    by_destination: dict[str, tuple[list[str], list[str]]] = {}
    matched: list[str] = []

    def add(destination: str, rule: str, reason: str) -> None:
        if destination not in by_destination:
            order.append(destination)
            by_destination[destination] = ([], [])
        rules_for, reasons_for = by_destination[destination]
        rules_for.append(rule)
        reasons_for.append(reason)

    for rule in rules:
        if rule.when is None:
            if matched:
                continue
            reason = "No other rule matched, so the referral goes to the default place."
        else:
            hits = _matches(rule.when, facts)
            if hits is None:
                continue
            reason = f"Sent here because {_join(hits)} (rule '{rule.name}')."
        matched.append(rule.name)
        for destination in rule.send_to:
            add(destination, rule.name, reason)

    safety = safety_reason(facts)
    safety_destinations: set[str] = set()
    if safety and crisis_destinations:
        chosen_crisis = [d for d in order if d in crisis_destinations]
        target = chosen_crisis[0] if chosen_crisis else crisis_destinations[0]
        add(target, "safety", safety)
        safety_destinations.add(target)

    routes = tuple(
        Route(
            destination=name,
            rules=tuple(by_destination[name][0]),
            reason=" ".join(dict.fromkeys(by_destination[name][1])),
            safety=name in safety_destinations,
        )
        for name in order
    )
    return RoutingDecision(routes=routes, matched_rules=tuple(matched))
