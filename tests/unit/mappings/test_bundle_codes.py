"""The code values in mapped Bundles (the JSON schema checks shapes, not codes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bundle_checks import FIXTURES, by_full_url, context_for, resources_of

from mappings.instruments import get_instrument
from mappings.triage_to_fhir import map_triage

TRIAGE = sorted((FIXTURES / "triage").glob("*.json"))
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CONFIDENTIAL_R = ("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")
SENSITIVE_PSY = ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "PSY")
AI_ASSERTED = ("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "AIAST")
PATHWAY_CODES = {
    "crisis": "183524004",
    "clinical": "183583007",
    "community": "306206005",
    "self-care": "306206005",
}
RISK_CODES = {
    "none": "negligible",
    "low": "low",
    "moderate": "moderate",
    "high": "high",
    "imminent": "high",
}


def _load(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    triage = json.loads(path.read_text("utf-8"))
    return triage, map_triage(triage, context_for(path.stem))


def _codings(concept: dict[str, Any]) -> list[tuple[str, str]]:
    return [(coding["system"], coding["code"]) for coding in concept["coding"]]


def _labels(resource: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in resource.get("meta", {}).get("security", [])}


@pytest.fixture(params=TRIAGE, ids=lambda path: path.stem)
def mapped(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    return _load(request.param)


def test_security_labels(mapped: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, bundle = mapped
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind in {"Patient", "Organization", "Device"}:
            assert _labels(resource) == set()
        elif kind == "RiskAssessment":
            assert _labels(resource) == {CONFIDENTIAL_R, SENSITIVE_PSY, AI_ASSERTED}
        else:
            assert _labels(resource) == {CONFIDENTIAL_R, SENSITIVE_PSY}, kind


def test_questionnaire_responses_use_loinc(mapped: tuple[dict[str, Any], dict[str, Any]]) -> None:
    triage, bundle = mapped
    responses = resources_of(bundle, "QuestionnaireResponse")
    assert len(responses) == len(triage["assessments"])
    for response, assessment in zip(responses, triage["assessments"], strict=True):
        instrument = get_instrument(assessment["instrument"])
        assert response["questionnaire"] == f"http://loinc.org/q/{instrument.panel_loinc}"
        asked = [
            (item.code, answer)
            for item, answer in zip(instrument.items, assessment["answers"], strict=True)
            if answer is not None
        ]
        assert [item["linkId"] for item in response["item"]] == [code for code, _ in asked]
        for item, (_, answer) in zip(response["item"], asked, strict=True):
            [value] = item["answer"]
            option = instrument.answer_option(answer)
            assert option is not None
            assert value["valueCoding"]["system"] == LOINC
            assert value["valueCoding"]["code"] == option.code


def test_total_observations(mapped: tuple[dict[str, Any], dict[str, Any]]) -> None:
    triage, bundle = mapped
    totals = {
        obs["code"]["coding"][0]["code"]: obs
        for obs in resources_of(bundle, "Observation")
        if "valueInteger" in obs
    }
    expected = {
        get_instrument(a["instrument"]).total_loinc: sum(a["answers"])
        for a in triage["assessments"]
        if a["instrument"] != "c-ssrs-screener"
    }
    assert {code: obs["valueInteger"] for code, obs in totals.items()} == expected
    for obs in totals.values():
        assert _codings(obs["category"][0]) == [
            ("http://terminology.hl7.org/CodeSystem/observation-category", "survey")
        ]
        assert obs["code"]["coding"][0]["system"] == LOINC
        assert obs["interpretation"][0]["text"]


def test_referral_codes(mapped: tuple[dict[str, Any], dict[str, Any]]) -> None:
    triage, bundle = mapped
    [service_request] = resources_of(bundle, "ServiceRequest")
    assert _codings(service_request["category"][0]) == [(SNOMED, "3457005")]
    assert _codings(service_request["code"]) == [
        (SNOMED, PATHWAY_CODES[triage["request"]["pathway"]])
    ]
    expected_priority = (
        "stat" if triage["risk"]["level"] == "imminent" else triage["request"]["urgency"]
    )
    assert service_request["priority"] == expected_priority
    assert (service_request["status"], service_request["intent"]) == ("active", "order")
    [task] = resources_of(bundle, "Task")
    assert _codings(task["code"]) == [("http://hl7.org/fhir/CodeSystem/task-code", "fulfill")]
    assert (task["status"], task["intent"], task["priority"]) == (
        "requested",
        "order",
        expected_priority,
    )
    assert "owner" not in task
    resources = by_full_url(bundle)
    assert resources[task["focus"]["reference"]] is service_request
    assert resources[task["requester"]["reference"]]["resourceType"] == "Organization"


def test_risk_assessment(mapped: tuple[dict[str, Any], dict[str, Any]]) -> None:
    triage, bundle = mapped
    [risk] = resources_of(bundle, "RiskAssessment")
    [prediction] = risk["prediction"]
    assert _codings(prediction["qualitativeRisk"]) == [
        (
            "http://terminology.hl7.org/CodeSystem/risk-probability",
            RISK_CODES[triage["risk"]["level"]],
        )
    ]
    assert prediction["probabilityDecimal"] == triage["risk"]["confidence"]
    assert prediction["rationale"] == triage["risk"]["rationale"]
    device = by_full_url(bundle)[risk["performer"]["reference"]]
    assert device["deviceName"][0]["name"] == triage["model"]["name"]
    assert device["version"][0]["value"] == triage["model"]["version"]
    observations = {
        entry["fullUrl"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Observation"
    }
    assert {ref["reference"] for ref in risk.get("basis", [])} == observations


def test_provenance(mapped: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, bundle = mapped
    [provenance] = resources_of(bundle, "Provenance")
    resources = by_full_url(bundle)
    assert [resources[t["reference"]]["resourceType"] for t in provenance["target"]] == [
        "RiskAssessment"
    ]
    assert provenance["recorded"] == context_for("x").received_at
    agents = [
        (
            resources[agent["who"]["reference"]]["resourceType"],
            _codings(agent["type"]),
        )
        for agent in provenance["agent"]
    ]
    author = [("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author")]
    assert agents == [("Device", author), ("Organization", author)]


def test_safety_signal_observations() -> None:
    _, bundle = _load(FIXTURES / "triage" / "imminent-risk.json")
    positives = {
        obs["code"]["coding"][0]["code"]: _codings(obs["valueCodeableConcept"])
        for obs in resources_of(bundle, "Observation")
        if "valueCodeableConcept" in obs
    }
    assert positives == {
        "44260-8": [(LOINC, "LA6571-9")],
        "93246-7": [(LOINC, "LA33-6")],
        "93247-5": [(LOINC, "LA33-6")],
        "93248-3": [(LOINC, "LA33-6")],
        "93249-1": [(LOINC, "LA33-6")],
    }


def test_patient_is_minimised() -> None:
    triage, bundle = _load(FIXTURES / "triage" / "contract-example.json")
    [patient] = resources_of(bundle, "Patient")
    assert patient["address"] == [{"postalCode": "94110", "state": "CA", "country": "US"}]
    assert set(patient) == {
        "resourceType",
        "identifier",
        "name",
        "telecom",
        "gender",
        "birthDate",
        "address",
        "communication",
    }
    [entry] = [e for e in bundle["entry"] if e["resource"] is patient]
    assert entry["request"]["ifNoneExist"] == "identifier=https://app.example.org/patients|p-123"
    assert triage["patient"]["identifiers"][0]["value"] == "p-123"


def test_identifier_query_is_percent_encoded() -> None:
    _, bundle = _load(FIXTURES / "triage" / "minimal-patient.json")
    assert bundle["entry"][0]["request"]["ifNoneExist"] == (
        "identifier=https://app.example.org/patients|anon%2042/a%26b"
    )
