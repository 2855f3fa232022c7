"""Minimisation: what each recipient category receives, pinned by snapshots."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from consent.minimise import REDISCLOSURE_NOTICE_EXTENSION, minimise, parse_profiles, profiles
from consent.obligations import (
    AddLabels,
    AttachRedisclosureNotice,
    Obligation,
    RedactLabelled,
    WithholdResources,
)
from consent.vocab import NO_REDISCLOSURE, RESTRICTED

SNAPSHOTS = Path(__file__).parent / "snapshots"
REDACT_SUD = RedactLabelled(("42CFRPart2", "ETH"))


def leaf_paths(bundle: dict[str, Any]) -> set[str]:
    """Every leaf element as ``Type.element.child`` (list positions collapsed)."""
    found: set[str] = set()

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, f"{path}.{key}")
        elif isinstance(value, list):
            for item in value:
                walk(item, path)
        else:
            found.add(path)

    for entry in bundle["entry"]:
        resource = entry["resource"]
        walk({k: v for k, v in resource.items() if k != "resourceType"}, resource["resourceType"])
    return found


def snapshot_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceTypes": sorted({e["resource"]["resourceType"] for e in bundle["entry"]}),
        "paths": sorted(leaf_paths(bundle)),
    }


@pytest.mark.parametrize("category", ["ehr", "crisis", "community"])
def test_each_category_receives_exactly_its_snapshot(
    category: str, triage_bundle: dict[str, Any]
) -> None:
    sent = minimise(triage_bundle, category, [REDACT_SUD])
    expected = json.loads((SNAPSHOTS / f"{category}.json").read_text())
    assert snapshot_of(sent) == expected


def test_nothing_new_leaks_to_community(triage_bundle: dict[str, Any]) -> None:
    """Add unexpected elements everywhere; none of them may reach a community service."""
    leaky = copy.deepcopy(triage_bundle)
    for entry in leaky["entry"]:
        entry["resource"]["text"] = {"status": "generated", "div": "<div>secret</div>"}
        entry["resource"]["extension"] = [{"url": "urn:x", "valueString": "secret"}]
        entry["resource"]["contained"] = [{"resourceType": "Basic", "id": "x"}]
    allowed = set(json.loads((SNAPSHOTS / "community.json").read_text())["paths"])
    sent = minimise(leaky, "community", [REDACT_SUD])
    assert leaf_paths(sent) <= allowed
    assert "secret" not in json.dumps(sent)


def test_community_gets_no_scores_rationale_or_free_text(triage_bundle: dict[str, Any]) -> None:
    sent = json.dumps(minimise(triage_bundle, "community", []))
    for secret in ("optional free text", "Plain-language reason", "valueInteger", "LA6569-3",
                   "1990-04-02", "1 Mission St", "6471006"):
        assert secret not in sent


def test_crisis_gets_risk_and_rationale_but_not_the_questionnaire(
    triage_bundle: dict[str, Any],
) -> None:
    sent = minimise(triage_bundle, "crisis", [])
    types = {e["resource"]["resourceType"] for e in sent["entry"]}
    assert "QuestionnaireResponse" not in types
    assert "Observation" not in types
    risk = next(e["resource"] for e in sent["entry"]
                if e["resource"]["resourceType"] == "RiskAssessment")
    assert risk["prediction"][0]["rationale"].startswith("Plain-language")
    assert "probabilityDecimal" not in risk["prediction"][0]


def test_references_to_dropped_entries_are_removed(triage_bundle: dict[str, Any]) -> None:
    sent = minimise(triage_bundle, "crisis", [])
    by_type = {e["resource"]["resourceType"]: e["resource"] for e in sent["entry"]}
    service_request = by_type["ServiceRequest"]
    assert service_request["reasonReference"] == [
        {"reference": "urn:uuid:00000000-0000-4000-8000-000000000007"}
    ]
    assert "supportingInfo" not in service_request
    assert "performer" not in by_type["RiskAssessment"]
    kept = {e["fullUrl"] for e in sent["entry"]}
    references = [value for value in _all_references(sent) if value.startswith("urn:uuid:")]
    assert references and set(references) <= kept


def test_dropped_resource_referenced_by_type_and_id_is_removed() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Observation", "id": "o1"}},
            {"fullUrl": "urn:uuid:b", "resource": {
                "resourceType": "ServiceRequest", "status": "active",
                "reasonReference": [{"reference": "Observation/o1"}]}},
        ],
    }
    sent = minimise(bundle, "crisis", [])
    assert sent["entry"][0]["resource"] == {"resourceType": "ServiceRequest", "status": "active"}


def _all_references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for child in value.values() for r in _all_references(child)]
    if isinstance(value, list):
        return [r for item in value for r in _all_references(item)]
    return []


def test_input_bundle_is_never_mutated(triage_bundle: dict[str, Any]) -> None:
    before = copy.deepcopy(triage_bundle)
    obligations: list[Obligation] = [AddLabels((RESTRICTED,)), AttachRedisclosureNotice(("ETH",))]
    for category in ("ehr", "crisis", "community"):
        minimise(triage_bundle, category, obligations)
    assert triage_bundle == before


def test_redaction_removes_substance_use_entries(triage_bundle: dict[str, Any]) -> None:
    sent = minimise(triage_bundle, "ehr", [REDACT_SUD])
    assert "Alcohol use screening" not in json.dumps(sent)
    risk = next(e["resource"] for e in sent["entry"]
                if e["resource"]["resourceType"] == "RiskAssessment")
    assert len(risk["basis"]) == 2


def test_redisclosure_notice_travels_with_named_substance_use_data(
    triage_bundle: dict[str, Any],
) -> None:
    sent = minimise(triage_bundle, "ehr", [AttachRedisclosureNotice(("ETH", "42CFRPart2"))])
    with_notice = [e["resource"] for e in sent["entry"]
                   if any(x["url"] == REDISCLOSURE_NOTICE_EXTENSION
                          for x in e["resource"].get("extension", []))]
    assert [r.get("code", {}).get("text") for r in with_notice] == ["Alcohol use screening"]
    assert NO_REDISCLOSURE.to_coding() in with_notice[0]["meta"]["security"]
    assert "42 CFR part 2" in with_notice[0]["extension"][0]["valueString"]


def test_labels_are_added_once(triage_bundle: dict[str, Any]) -> None:
    restricted = {"system": RESTRICTED.system, "code": RESTRICTED.code}
    sent = minimise(triage_bundle, "community", [AddLabels((RESTRICTED,))])
    for entry in sent["entry"]:
        codes = [(c["system"], c["code"]) for c in entry["resource"]["meta"]["security"]]
        assert codes.count((restricted["system"], restricted["code"])) == 1


def test_withheld_resource_types_are_dropped(triage_bundle: dict[str, Any]) -> None:
    sent = minimise(triage_bundle, "ehr", [WithholdResources(("Provenance", "Device"))])
    types = {e["resource"]["resourceType"] for e in sent["entry"]}
    assert not types & {"Provenance", "Device"}
    assert "Observation" in types


def test_entries_keep_their_transaction_request(triage_bundle: dict[str, Any]) -> None:
    sent = minimise(triage_bundle, "community", [])
    patient = sent["entry"][0]
    assert patient["request"] == {"method": "POST", "url": "Patient",
                                  "ifNoneExist": "identifier=https://app.example.org/patients|p-123"}
    assert sent["type"] == "transaction"


def test_unknown_category_is_refused(triage_bundle: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="no minimisation profile"):
        minimise(triage_bundle, "marketing", [])


def test_profiles_are_data() -> None:
    assert set(profiles()) == {"ehr", "crisis", "community"}
    parsed = parse_profiles({"x": {
        "Patient": ["address.postalCode", "name"],
        "Task": ["input", "input.type"],
    }})
    assert parsed["x"]["Patient"] == {"address": {"postalCode": True}, "name": True}
    assert parsed["x"]["Task"] == {"input": True}
    with pytest.raises(ValueError, match="element list expected"):
        parse_profiles({"x": {"Patient": "name"}})


@pytest.mark.parametrize("category", ["ehr", "crisis", "community"])
def test_minimised_bundles_are_valid_fhir(category: str, triage_bundle: dict[str, Any]) -> None:
    from mappings.validation import validate_bundle

    assert validate_bundle(triage_bundle) == []
    obligations: list[Obligation] = [AddLabels((RESTRICTED,)), AttachRedisclosureNotice(("ETH",))]
    assert validate_bundle(minimise(triage_bundle, category, obligations)) == []
