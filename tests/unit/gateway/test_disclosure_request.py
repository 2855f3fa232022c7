"""What the disclosure decision point asks the consent engine: the facts read from the
referral, the recipient by name as well as by category, and the resource types held."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consent.obligations import WithholdResources
from consent.vocab import ACT_CODE, DESTINATION_SYSTEM, RECIPIENT_CATEGORY_SYSTEM
from gateway.config import parse_config
from gateway.disclosure import ReferralFacts, decide_disclosure, decide_for_recipient

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
CONFIG = parse_config(
    {
        "destinations": [
            {"name": "county-ehr", "type": "fhir", "base_url": "https://ehr.example.org/fhir"},
            {"name": "other-ehr", "type": "fhir", "base_url": "https://other.example.org/fhir"},
            {"name": "crisis-desk", "type": "crisis"},
        ],
        "routing": [{"name": "fallback", "send_to": ["county-ehr"]}],
    }
)


def _bundle() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (ROOT / "tests/fixtures/bundles/contract-example.json").read_text()
    )
    return loaded


def _actor(system: str, value: str) -> dict[str, Any]:
    return {"reference": {"identifier": {"system": system, "value": value}}}


def _consent(*provisions: dict[str, Any]) -> dict[str, Any]:
    """A consent in force whose base rule is deny, with the given nested provisions."""
    return {
        "resourceType": "Consent",
        "id": "c7",
        "status": "active",
        "dateTime": "2026-11-01T09:00:00Z",
        "provision": {"type": "deny", "provision": list(provisions)},
    }


def _resource(resource_type: str, *security: dict[str, str]) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": resource_type}
    if security:
        resource["meta"] = {"security": list(security)}
    return {"resource": resource}


def test_a_bundle_without_entries_has_no_labels_and_no_classes() -> None:
    facts = ReferralFacts.of({"resourceType": "Bundle", "type": "collection"}, "low")
    assert facts == ReferralFacts(labels=frozenset(), classes=frozenset(), risk_level="low")


def test_a_security_coding_without_a_code_is_no_label() -> None:
    data = {
        "resourceType": "Bundle",
        "entry": [
            _resource("Patient"),
            _resource("Observation", {"system": ACT_CODE}, {"system": ACT_CODE, "code": "R"}),
            _resource("Task", {"system": ACT_CODE, "code": ""}),
        ],
    }
    facts = ReferralFacts.of(data, None)
    assert facts.labels == {"R"}
    assert facts.classes == {"Patient", "Observation", "Task"}


def test_a_consent_naming_the_destination_permits_it_and_not_its_category() -> None:
    named = _consent({"type": "permit", "actor": [_actor(DESTINATION_SYSTEM, "county-ehr")]})
    facts = ReferralFacts.of(_bundle(), "moderate")
    chosen = decide_disclosure(CONFIG.destination("county-ehr"), named, facts, NOW)
    assert chosen.permit and chosen.destination == "county-ehr"
    assert not decide_disclosure(CONFIG.destination("other-ehr"), named, facts, NOW).permit


def test_an_ehr_asking_by_its_issuer_is_judged_by_that_name() -> None:
    issuer = "https://ehr.example.org"
    named = _consent({"type": "permit", "actor": [_actor(DESTINATION_SYSTEM, issuer)]})
    facts = ReferralFacts.of(_bundle(), "moderate")
    assert decide_for_recipient("ehr", issuer, named, facts, NOW).permit
    assert not decide_for_recipient("ehr", "https://other.example.org", named, facts, NOW).permit


def test_resource_types_the_consent_does_not_cover_are_held_back() -> None:
    covered = ["Patient", "Observation", "ServiceRequest", "Task"]
    limited = _consent(
        {
            "type": "permit",
            "actor": [_actor(RECIPIENT_CATEGORY_SYSTEM, "ehr")],
            "class": [
                {"system": "http://hl7.org/fhir/resource-types", "code": code} for code in covered
            ],
        }
    )
    data = _bundle()
    decided = decide_disclosure(
        CONFIG.destination("county-ehr"), limited, ReferralFacts.of(data, "moderate"), NOW
    )
    assert decided.permit
    [withheld] = [o for o in decided.decision.obligations if isinstance(o, WithholdResources)]
    assert "QuestionnaireResponse" in withheld.resource_types
    assert not set(covered) & set(withheld.resource_types)
    sent = {e["resource"]["resourceType"] for e in decided.outbound(data)["entry"]}
    assert "QuestionnaireResponse" not in sent
    assert {"Patient", "ServiceRequest", "Task"} <= sent
