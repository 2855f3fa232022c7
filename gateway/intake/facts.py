"""What routing reads of a submission: risk, request, scored severities, safety, place."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.intake.schema import TriageSubmission
from gateway.routing import RoutingFacts
from mappings.scoring import ScoredAssessment
from mappings.signals import safety_signals


def routing_facts(submission: TriageSubmission, scored: Sequence[ScoredAssessment]) -> RoutingFacts:
    """The facts the routing rules match on (docs/routing.md).

    A safety signal the app reports (docs/safety-signals.md) adds the crisis route as a
    positive answer does; the reason names it when no answer shows it.
    """
    answered = any(s.safety for s in scored)
    reported = safety_signals(list(submission.risk.signals))
    address = submission.patient.address
    return RoutingFacts(
        risk_level=submission.risk.level,
        pathway=submission.request.pathway,
        urgency=submission.request.urgency,
        severities=frozenset(s.band.code for s in scored if s.band is not None),
        safety_signal=answered or bool(reported),
        reported_safety_signals=() if answered else tuple(reported),
        state=address.state if address else None,
        postal_code=address.postal_code if address else None,
        language=submission.patient.preferred_language,
    )
