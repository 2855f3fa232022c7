"""The plain-language "why" of a referral, for ``GET /referrals/{id}``.

Built from the triage result alone (pure): each score with its severity band in words,
the risk level with the model's own rationale and confidence, which model and version
made the judgement, and the safety questions answered positively.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mappings.scoring import ScoredAssessment, score_triage

_RISK_WORDS = {
    "none": "no current risk",
    "low": "low risk",
    "moderate": "moderate risk",
    "high": "high risk",
    "imminent": "imminent risk (the person may be in danger now)",
}


def explain(
    triage: dict[str, Any], scored: Sequence[ScoredAssessment] | None = None
) -> dict[str, Any]:
    """Why this referral: ``scored`` is ``score_triage(triage)`` when the caller has it."""
    scores = score_triage(triage) if scored is None else scored
    model = triage["model"]
    return {
        "scores": [_score(score) for score in scores],
        "risk": _risk(triage["risk"], model),
        "model": {
            "name": model["name"],
            "version": model["version"],
            "summary": f"The risk level was suggested by the triage model {model['name']} "
            f"version {model['version']}; the scores were computed by the gateway.",
        },
        "safety_signals": [signal for score in scores for signal in _signals(score)],
    }


def _score(scored: ScoredAssessment) -> dict[str, Any]:
    instrument, answers, total = scored.instrument, scored.answers, scored.total
    score: dict[str, Any] = {"instrument": instrument.code, "title": instrument.long_title}
    if total is None:
        yes = sum(1 for answer in answers if answer is True)
        asked = sum(1 for answer in answers if answer is not None)
        score["summary"] = (
            f"{instrument.title}: {yes} of {asked} questions asked were answered yes."
        )
        return score
    band = scored.band
    score.update(total=total, max_total=instrument.max_total)
    summary = f"{instrument.title} total score {total} out of {instrument.max_total}"
    if band is not None:
        score["band"] = {"code": band.code, "display": band.display}
        summary += f": {band.display.lower()}"
    score["summary"] = summary + "."
    return score


def _risk(risk: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    level = risk["level"]
    words = f"The triage model {model['name']} rated this as {_RISK_WORDS[level]}"
    confidence = risk.get("confidence")
    if confidence is not None:
        words += f", with {round(confidence * 100)}% confidence"
    words += "."
    if risk.get("rationale"):
        words += f" Its reason: {risk['rationale']}"
    return {
        "level": level,
        "confidence": confidence,
        "rationale": risk.get("rationale"),
        "reported_signals": list(risk.get("signals") or []),
        "summary": words,
    }


def _signals(scored: ScoredAssessment) -> list[dict[str, Any]]:
    instrument = scored.instrument
    signals = []
    for safety_item, answer in scored.safety:
        option = instrument.answer_option(answer)
        answered = option.display if option is not None else str(answer)
        question = instrument.items[safety_item.item - 1].text
        signals.append(
            {
                "signal": safety_item.signal,
                "instrument": instrument.code,
                "question": safety_item.item,
                "kind": safety_item.kind,
                "summary": f"{instrument.title} question {safety_item.item} "
                f"(\u201c{question}\u201d) was answered \u201c{answered}\u201d: "
                f"{safety_item.meaning}.",
            }
        )
    return signals
