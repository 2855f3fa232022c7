"""Which submissions may use the crisis reserve of intake's admission queue.

Under overload the gateway must still take in a person at risk ahead of routine
traffic (CONTRACT.md "Intake"; docs/performance.md "Overload"). The admission
queue decides before the body is validated, so this look is deliberately cheap and
generous: anything that may end on the crisis route counts as urgent. A wrong
"urgent" costs one reserved slot; a wrong "routine" could shed a crisis, so every
doubt resolves to urgent. The real decision is made later by intake and routing.
"""

from __future__ import annotations

from typing import Any

_URGENT_LEVELS = {"high", "imminent"}


def is_urgent(document: Any) -> bool:
    """True when a parsed triage submission might need the crisis route."""
    if not isinstance(document, dict):
        return False
    risk = document.get("risk")
    if isinstance(risk, dict) and (risk.get("level") in _URGENT_LEVELS or risk.get("signals")):
        return True
    request = document.get("request")
    if isinstance(request, dict) and request.get("pathway") == "crisis":
        return True
    assessments = document.get("assessments")
    if isinstance(assessments, list):
        return any(_answers_show_risk(item) for item in assessments)
    return False


def _answers_show_risk(assessment: Any) -> bool:
    if not isinstance(assessment, dict):
        return False
    answers = assessment.get("answers")
    if not isinstance(answers, list):
        return False
    instrument = assessment.get("instrument")
    if instrument == "phq-9":
        item9 = answers[8] if len(answers) > 8 else None
        return not isinstance(item9, int) or isinstance(item9, bool) or item9 != 0
    if instrument == "c-ssrs-screener":
        return any(answer is True for answer in answers)
    return False
