"""Decide, under the person's consent, each route routing chose; refuse when none may go.

Each route's decision comes from the one disclosure decision point
(:func:`gateway.disclosure.decide_disclosure`), the same call delivery repeats just
before sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.config import AnyDestination, GatewayConfig
from gateway.destinations.registry import takes_crisis_lane
from gateway.disclosure import Disclosure, ReferralFacts, decide_disclosure
from gateway.errors import Forbidden, Issue
from gateway.intake.schema import TriageSubmission
from gateway.routing import Route, RoutingDecision

LANE_CRISIS, LANE_URGENT, LANE_ROUTINE = 0, 1, 2


@dataclass(frozen=True)
class DecidedRoute:
    route: Route
    destination: AnyDestination
    disclosure: Disclosure

    def view(self) -> dict[str, Any]:
        """The route as the 202 answer shows it (CONTRACT.md, ``routing[]``)."""
        decision = self.disclosure.decision
        view: dict[str, Any] = {
            "destination": self.route.destination,
            "type": self.destination.type,
            "reason": self.route.reason,
            "rules": list(self.route.rules),
            "decision": "permit" if decision.permit else "deny",
            "consent_reason": decision.reason,
            "purpose": decision.purpose,
        }
        if decision.emergency:
            view["emergency"] = True
        if not decision.permit:
            view["skipped"] = True
        if self.route.model_paused:
            view["model_paused"] = True
        return view


def decide_routes(
    config: GatewayConfig,
    routing: RoutingDecision,
    consent: dict[str, Any] | None,
    facts: ReferralFacts,
    now: datetime,
) -> list[DecidedRoute]:
    """One consent decision per chosen route, in routing order."""
    decided = []
    for route in routing.routes:
        destination = config.destination(route.destination)
        decided.append(
            DecidedRoute(route, destination, decide_disclosure(destination, consent, facts, now))
        )
    return decided


def refuse_unless_any_permitted(decided: list[DecidedRoute]) -> None:
    """403 when the consent covers none of the destinations: nothing is stored then."""
    if any(d.disclosure.permit for d in decided):
        return
    reasons = "; ".join(d.disclosure.decision.reason for d in decided)
    raise Forbidden(
        "The person's consent does not cover any destination this referral would go to.",
        issues=[
            Issue(reasons or "no destination permitted", expression="consent", code="forbidden")
        ],
    )


def lane_for(destination: AnyDestination, submission: TriageSubmission) -> int:
    """Crisis destinations go first, then urgent or high-risk referrals, then the rest."""
    if takes_crisis_lane(destination):
        return LANE_CRISIS
    if submission.request.urgency != "routine" or submission.risk.level in {"high", "imminent"}:
        return LANE_URGENT
    return LANE_ROUTINE
