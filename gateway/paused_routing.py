"""Routing for a referral whose model version an operator paused. Pure.

CONTRACT.md v1.1, "Operations": a paused version's referrals are still accepted,
always go to a person, and are flagged. Nothing automated receives them: the rules'
EHR and community destinations are replaced by one human desk,

- the crisis desk when the risk is high or imminent or an answer or signal shows a
  safety concern (the crisis destination routing already chose, else the first one);
- otherwise the operator's inbox: ``models_paused_route`` in the YAML, by default the
  destination named ``inbox`` when there is one, else the crisis desk.
"""

from __future__ import annotations

from gateway.config import GatewayConfig, InboxDestination
from gateway.routing import Route, RoutingDecision, RoutingFacts, safety_reason

PAUSED_RULE = "model-paused"
HIGH_RISK = frozenset({"high", "imminent"})


def operator_inbox(config: GatewayConfig) -> str:
    """The human desk for a paused version's referrals that are not high-risk."""
    if config.models_paused_route:
        return config.models_paused_route
    for destination in config.destinations:
        if destination.name == "inbox" and isinstance(destination, InboxDestination):
            return destination.name
    return config.crisis_destinations[0].name


def paused_reason(name: str, version: str) -> str:
    return (
        f"The model {name} {version} that assessed this person is paused by an operator, "
        "so a person reviews the referral instead of it being routed automatically."
    )


def route_paused(
    decision: RoutingDecision,
    facts: RoutingFacts,
    config: GatewayConfig,
    *,
    model: tuple[str, str],
) -> RoutingDecision:
    """``decision`` replaced by the one human desk this referral goes to."""
    crisis = [d.name for d in config.crisis_destinations]
    safety = safety_reason(facts) is not None
    why = paused_reason(*model)
    if safety or facts.risk_level in HIGH_RISK:
        chosen = [r.destination for r in decision.routes if r.destination in crisis]
        target = chosen[0] if chosen else crisis[0]
        where = "It goes to the crisis desk because the risk is high or an answer shows danger."
    else:
        target = operator_inbox(config)
        where = "It goes to the operators' inbox, where a person decides where it goes next."
    return RoutingDecision(
        routes=(
            Route(
                destination=target,
                rules=(PAUSED_RULE,),
                reason=f"{why} {where}",
                safety=safety,
                model_paused=True,
            ),
        ),
        matched_rules=(PAUSED_RULE,),
        model_paused=why,
    )
