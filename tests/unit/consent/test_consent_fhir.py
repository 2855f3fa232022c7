"""The inline consent as a FHIR Consent, and checks on a Consent filed directly."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from consent.fhir_consent import (
    ConsentRecord,
    Problem,
    consent_from_submission,
    parse_consent,
    submission_problems,
)
from consent.vocab import RECIPIENT_CATEGORY_SYSTEM, destination_category
from mappings.fhir_models import model_class

INLINE = {
    "share_with": ["community", "ehr"],
    "purposes": ["TREAT", "CAREMGT"],
    "expires": "2027-11-27",
    "accepted_text_version": "consent-text-v3",
}
IDENTIFIER = {"system": "https://app.example.org/patients", "value": "p-123"}


def make(inline: dict[str, Any] = INLINE) -> dict[str, Any]:
    return consent_from_submission(
        inline,
        patient_ref="Patient/p1",
        patient_identifier=IDENTIFIER,
        recorded_at="2026-11-27T10:04:00Z",
        consent_uuid="0b6f3c1e-0000-4000-8000-000000000001",
        client_id="triage-app",
    )


def test_inline_consent_becomes_a_valid_privacy_consent() -> None:
    consent = make()
    model_class("Consent").model_validate(consent)
    assert consent["status"] == "active"
    assert consent["scope"]["coding"][0]["code"] == "patient-privacy"
    assert consent["category"][0]["coding"][0] == {
        "system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}
    assert consent["policyRule"]["coding"][0]["code"] == "OPTIN"
    assert consent["patient"] == {"reference": "Patient/p1", "identifier": IDENTIFIER}
    assert consent["dateTime"] == "2026-11-27T10:04:00Z"
    assert consent["sourceAttachment"]["url"].endswith(":consent-text-v3")
    assert consent["meta"]["source"].endswith(":triage-app")


def test_provision_is_a_base_deny_with_one_permit_per_category() -> None:
    provision = make()["provision"]
    assert provision["type"] == "deny"
    assert provision["period"] == {"start": "2026-11-27T10:04:00Z", "end": "2027-11-27"}
    permits = provision["provision"]
    assert [p["type"] for p in permits] == ["permit", "permit"]
    actors = [p["actor"][0] for p in permits]
    assert [a["reference"]["identifier"] for a in actors] == [
        {"system": RECIPIENT_CATEGORY_SYSTEM, "value": "ehr"},
        {"system": RECIPIENT_CATEGORY_SYSTEM, "value": "community"},
    ]
    assert all(a["role"]["coding"][0]["code"] == "IRCP" for a in actors)
    assert [c["code"] for c in permits[0]["purpose"]] == ["TREAT", "CAREMGT"]
    assert [c["code"] for c in permits[0]["securityLabel"]] == ["R", "PSY"]
    assert permits[0]["action"][0]["coding"][0]["code"] == "disclose"


def test_no_expiry_leaves_the_period_open() -> None:
    inline = {k: v for k, v in INLINE.items() if k != "expires"}
    assert make(inline)["provision"]["period"] == {"start": "2026-11-27T10:04:00Z"}


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"share_with": "ehr"}, "consent.share_with"),
        ({"share_with": ["ehr", "marketing"]}, "consent.share_with[1]"),
        ({"purposes": "TREAT"}, "consent.purposes"),
        ({"purposes": ["TREAT", "SELL"]}, "consent.purposes[1]"),
        ({"expires": "next year"}, "consent.expires"),
        ({"expires": "2027-02-30"}, "consent.expires"),
        ({"accepted_text_version": ""}, "consent.accepted_text_version"),
    ],
)
def test_bad_inline_consent_names_the_field(change: dict[str, Any], expression: str) -> None:
    inline = {**INLINE, **change}
    assert [p.expression for p in submission_problems(inline)] == [expression]
    with pytest.raises(ValueError, match=expression.replace("[", r"\[")):
        make(inline)


def test_an_empty_share_with_is_a_deny_all_consent() -> None:
    """CONTRACT.md v1.1: ``share_with: []`` is a valid consent that permits no one."""
    inline = {**INLINE, "share_with": []}
    assert submission_problems(inline) == []
    provision = make(inline)["provision"]
    assert provision["type"] == "deny"
    assert provision.get("provision", []) == []


def test_a_generated_consent_parses_back() -> None:
    record = parse_consent(make())
    assert isinstance(record, ConsentRecord)
    assert record.status == "active"
    assert record.categories == ("ehr", "community")
    assert record.purposes == ("TREAT", "CAREMGT")
    assert (record.period_start, record.period_end) == ("2026-11-27T10:04:00Z", "2027-11-27")
    assert record.accepted_text_version == "consent-text-v3"


def _broken(path: list[str | int], value: Any) -> dict[str, Any]:
    resource = copy.deepcopy(make())
    node: Any = resource
    for step in path[:-1]:
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return resource


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expression"),
    [
        (["status"], "revoked", "Consent.status"),
        (["scope"], {"coding": [{"code": "research"}]}, "Consent.scope"),
        (["category"], DELETE, "Consent.category"),
        (["patient"], {}, "Consent.patient"),
        (["dateTime"], "yesterday", "Consent.dateTime"),
        (["policyRule"], DELETE, "Consent.policyRule"),
        (["provision"], DELETE, "Consent.provision"),
        (["provision", "type"], "maybe", "Consent.provision.type"),
        (["provision", "period", "end"], "2026-01-01", "Consent.provision.period.end"),
        (["provision", "period", "start"], "soon", "Consent.provision.period.start"),
        (["provision", "provision", 1, "type"], "allow", "Consent.provision.provision[1].type"),
        (["provision", "provision", 0, "actor", 0, "reference"], DELETE,
         "Consent.provision.provision[0].actor[0].reference"),
        (["provision", "provision", 0, "period"], "always",
         "Consent.provision.provision[0].period"),
        (["provision", "provision"], {"type": "permit"}, "Consent.provision.provision"),
        (["provision", "provision", 0], "permit", "Consent.provision.provision[0]"),
    ],
)
def test_a_filed_consent_with_a_problem_names_it(
    path: list[str | int], value: Any, expression: str
) -> None:
    problems = parse_consent(_broken(path, value))
    assert isinstance(problems, list)
    assert [p.expression for p in problems] == [expression]


def test_a_non_consent_is_refused() -> None:
    assert parse_consent({"resourceType": "Patient"}) == [
        Problem("resourceType", "must be Consent")
    ]


def test_a_revoked_consent_is_still_a_valid_record() -> None:
    record = parse_consent({**make(), "status": "inactive"})
    assert isinstance(record, ConsentRecord)
    assert record.status == "inactive"


@pytest.mark.parametrize(
    ("destination_type", "configured", "category"),
    [("fhir", None, "ehr"), ("inbox", None, "ehr"), ("crisis", None, "crisis"),
     ("community", None, "community"), ("inbox", "crisis", "crisis")],
)
def test_destination_types_map_to_categories(
    destination_type: str, configured: str | None, category: str
) -> None:
    assert destination_category(destination_type, configured) == category


def test_unknown_destination_type_or_category_is_refused() -> None:
    with pytest.raises(ValueError, match="destination type"):
        destination_category("ftp")
    with pytest.raises(ValueError, match="recipient category"):
        destination_category("inbox", "friends")
