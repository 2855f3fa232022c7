"""Score a triage result's assessments once; routing, mapping and the explanation share it.

Pure. Each instrument's definition (``mappings/instruments/*.yaml``) says how its
answers add up, which band a total falls in and which answers are safety signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.instruments import Band, Instrument, SafetyItem, get_instrument


@dataclass(frozen=True)
class ScoredAssessment:
    """One assessment with what the gateway computed from its answers."""

    instrument: Instrument
    answers: list[object]
    total: int | None
    """None for an instrument without a total (e.g. the C-SSRS screener)."""
    band: Band | None
    safety: list[tuple[SafetyItem, object]]
    """The safety items answered positively, with the answer given."""


def score_assessment(assessment: dict[str, Any]) -> ScoredAssessment:
    instrument = get_instrument(assessment["instrument"])
    answers: list[object] = list(assessment["answers"])
    total = instrument.total(answers)
    return ScoredAssessment(
        instrument=instrument,
        answers=answers,
        total=total,
        band=instrument.severity(total) if total is not None else None,
        safety=instrument.positive_safety_items(answers),
    )


def score_triage(triage: dict[str, Any]) -> tuple[ScoredAssessment, ...]:
    """Every assessment of a (validated, canonical) triage result, scored, in order."""
    return tuple(score_assessment(assessment) for assessment in triage["assessments"])
