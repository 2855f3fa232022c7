"""The plain-language explanation of a triage result."""

from __future__ import annotations

import json
from typing import Any

from bundle_checks import FIXTURES

from mappings.explain import explain


def _triage(name: str) -> dict[str, Any]:
    triage: dict[str, Any] = json.loads((FIXTURES / "triage" / f"{name}.json").read_text("utf-8"))
    return triage


def test_scores_with_bands_in_words() -> None:
    scores = explain(_triage("contract-example"))["scores"]
    assert [(s["instrument"], s["total"], s["band"]["code"]) for s in scores] == [
        ("phq-9", 11, "moderate"),
        ("gad-7", 7, "mild"),
    ]
    assert scores[0]["summary"] == "PHQ-9 total score 11 out of 27: moderate depression."
    assert scores[1]["summary"] == "GAD-7 total score 7 out of 21: mild anxiety."


def test_risk_with_rationale_confidence_and_model() -> None:
    why = explain(_triage("contract-example"))
    assert why["risk"]["level"] == "moderate"
    assert why["risk"]["confidence"] == 0.82
    assert why["risk"]["summary"] == (
        "The triage model example-triage rated this as moderate risk, with 82% confidence. "
        "Its reason: Plain-language reason the app gives the person."
    )
    assert why["risk"]["reported_signals"] == ["phq9-item9-positive"]
    assert (why["model"]["name"], why["model"]["version"]) == ("example-triage", "2.3.1")
    assert "example-triage version 2.3.1" in why["model"]["summary"]


def test_positive_safety_answers_in_words() -> None:
    why = explain(_triage("imminent-risk"))
    signals = [(s["signal"], s["question"]) for s in why["safety_signals"]]
    assert signals == [
        ("phq9-item9-positive", 9),
        ("cssrs-wish-to-be-dead", 1),
        ("cssrs-suicidal-thoughts", 2),
        ("cssrs-method", 3),
        ("cssrs-intent", 4),
    ]
    assert "was answered \u201cNearly every day\u201d" in why["safety_signals"][0]["summary"]
    assert "imminent risk" in why["risk"]["summary"]


def test_cssrs_is_explained_by_its_yes_answers() -> None:
    [phq2, cssrs] = explain(_triage("self-care"))["scores"]
    assert phq2["band"]["code"] == "negative-screen"
    assert "total" not in cssrs
    assert cssrs["summary"] == "C-SSRS screener: 0 of 3 questions asked were answered yes."


def test_no_signals_when_nothing_is_positive() -> None:
    assert explain(_triage("community-phq2"))["safety_signals"] == []
