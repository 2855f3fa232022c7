"""Golden cards: one per risk level, built from the fixture triage results as mapped.

To regenerate after an intended change, run
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/cds/test_cds_cards.py
and review the diff of tests/fixtures/cds/cards/ by eye before committing it.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consent.minimise import minimise
from consent.obligations import WithholdResources
from gateway.cds.cards import OpenReferral, build_card, card_uuid
from mappings.explain import explain
from mappings.triage_to_fhir import MappingContext, map_triage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GOLDEN = FIXTURES / "cds" / "cards"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
PUBLIC_URL = "https://gateway.example.org"
RECEIVED = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)


def _no_item9(triage: dict[str, Any]) -> dict[str, Any]:
    triage["assessments"][0]["answers"][8] = 0
    triage["risk"]["signals"] = []
    return triage


CASES = {
    # risk level: (fixture, change, expected indicator)
    "none": ("self-care", None, "info"),
    "low": ("community-phq2", None, "info"),
    "moderate": ("contract-example", _no_item9, "warning"),
    "moderate-item9-positive": ("contract-example", None, "critical"),
    "high": ("minimal-patient", None, "critical"),
    "imminent": ("imminent-risk", None, "critical"),
}


def _referral(name: str) -> tuple[OpenReferral, dict[str, Any]]:
    fixture, change, _ = CASES[name]
    triage = json.loads((FIXTURES / "triage" / f"{fixture}.json").read_text("utf-8"))
    if change is not None:
        triage = change(triage)
    referral_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-referral/cds/{name}"))
    bundle = map_triage(
        triage,
        MappingContext(
            referral_id=referral_id, client_id="demo-triage-app", received_at="2026-11-27T12:30:00Z"
        ),
    )
    referral = OpenReferral(
        referral_id=referral_id,
        client_id="demo-triage-app",
        risk_level=triage["risk"]["level"],
        status="requested",
        received_at=RECEIVED,
        explanation=explain(triage),
    )
    return referral, bundle


@pytest.mark.parametrize("name", sorted(CASES))
def test_card_matches_golden_file(name: str) -> None:
    referral, bundle = _referral(name)
    card = build_card(referral, minimise(bundle, "ehr", []), public_url=PUBLIC_URL)
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert path.exists(), f"no golden card for {name}; run with UPDATE_GOLDEN=1"
    assert card == json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_card_keeps_the_spec_rules(name: str) -> None:
    referral, bundle = _referral(name)
    card = build_card(referral, minimise(bundle, "ehr", []), public_url=PUBLIC_URL)
    assert card["indicator"] == CASES[name][2]
    assert len(card["summary"]) < 140
    assert card["uuid"] == card_uuid(referral.referral_id) == str(uuid.UUID(card["uuid"]))
    assert card["source"]["label"].startswith("demo-triage-app")
    assert referral.model_name in card["source"]["label"]
    model = f"/models/{referral.model_name}/{referral.model_version}"
    assert card["source"]["url"] == PUBLIC_URL + model
    assert card["links"] == [
        {
            "label": "Open the referral in the gateway console",
            "url": f"{PUBLIC_URL}/console/referrals/{referral.referral_id}",
            "type": "absolute",
        }
    ]
    assert all(reason["display"] for reason in card["overrideReasons"])


def test_the_ai_output_is_a_section_of_its_own_after_the_answers() -> None:
    referral, bundle = _referral("imminent")
    detail = build_card(referral, minimise(bundle, "ehr", []), public_url=PUBLIC_URL)["detail"]
    answers, ai = detail.split("### What the AI model produced")
    assert "### What the person answered" in answers
    assert "PHQ" in answers and "**22**" in answers  # the gateway's own total
    assert "93%" not in answers and "rationale" not in answers
    assert "AI model, not by a clinician" in ai
    assert "version 2.3.1" in ai and "Confidence (the model's): 93%" in ai
    assert "The model's rationale, in its own words" in ai


def test_what_consent_withholds_is_not_on_the_card() -> None:
    referral, bundle = _referral("imminent")
    view = minimise(bundle, "ehr", [WithholdResources(("RiskAssessment", "Observation"))])
    card = build_card(referral, view, public_url=PUBLIC_URL)
    assert "93%" not in card["detail"]
    assert "crisis counsellor" not in card["detail"]
    assert "**22**" not in card["detail"]
    assert "AI triage rated" not in card["summary"]
    assert card["indicator"] == "critical"  # how urgent it is still shows


def test_markdown_in_what_the_app_sent_is_made_inert() -> None:
    referral, bundle = _referral("high")
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "RiskAssessment":
            entry["resource"]["prediction"][0]["rationale"] = (
                "[click](https://evil.example) <b>x</b>"
            )
    detail = build_card(referral, minimise(bundle, "ehr", []), public_url=PUBLIC_URL)["detail"]
    assert "[click](" not in detail and "<b>" not in detail
    assert "\\[click\\]" in detail
