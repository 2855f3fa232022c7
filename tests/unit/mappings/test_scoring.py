"""Assessments are scored once; the Bundle and the explanation take those scores as given."""

from __future__ import annotations

import dataclasses
import json

import pytest
from bundle_checks import FIXTURES, context_for

from mappings import scoring
from mappings.explain import explain
from mappings.instruments import get_instrument
from mappings.scoring import score_triage
from mappings.triage_to_fhir import map_triage


def _triage(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((FIXTURES / "triage" / f"{name}.json").read_text())
    return loaded


def test_scores_computed_before_mapping_give_the_same_bundle_and_explanation() -> None:
    for name in ("contract-example", "imminent-risk", "self-care", "community-phq2"):
        triage = _triage(name)
        scored = score_triage(triage)
        assert map_triage(triage, context_for(name), scored) == map_triage(
            triage, context_for(name)
        )
        assert explain(triage, scored) == explain(triage)


def test_phq9_scores_carry_total_band_and_the_item_9_signal() -> None:
    [phq9, *_] = score_triage(_triage("imminent-risk"))
    assert phq9.instrument.code == "phq-9"
    assert phq9.total == sum(a for a in phq9.answers if isinstance(a, int))
    assert phq9.band is not None and phq9.band == phq9.instrument.severity(phq9.total)
    assert [item.item for item, _answer in phq9.safety] == [9]


def test_mapping_and_explanation_use_the_scores_they_are_given() -> None:
    triage = _triage("contract-example")
    [first, *rest] = score_triage(triage)
    assert first.total is not None
    other = dataclasses.replace(first, total=first.total + 1)
    bundle = map_triage(triage, context_for("contract-example"), [other, *rest])
    totals = [
        e["resource"]["valueInteger"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation" and "valueInteger" in e["resource"]
    ]
    assert first.total + 1 in totals
    assert explain(triage, [other, *rest])["scores"][0]["total"] == first.total + 1


def test_an_instrument_without_a_total_has_no_band(monkeypatch: pytest.MonkeyPatch) -> None:
    """No total, no band: even a definition that lists bands cannot put a screener in one."""
    screener = get_instrument("c-ssrs-screener")
    with_bands = dataclasses.replace(screener, bands=get_instrument("phq-9").bands)
    monkeypatch.setattr(scoring, "get_instrument", lambda code: with_bands)
    scored = scoring.score_assessment(
        {"instrument": "c-ssrs-screener", "answers": [True, False, None, None, None, False]}
    )
    assert (scored.total, scored.band) == (None, None)
    assert [item.item for item, _answer in scored.safety] == [1]
