"""The one disclosure decision point: intake and delivery decide alike, and nothing else decides."""

from __future__ import annotations

import ast
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from consent.fhir_consent import consent_from_submission
from consent.obligations import AttachRedisclosureNotice, RedactLabelled
from consent.vocab import ACT_CODE
from gateway.config import parse_config
from gateway.delivery.claim import Claim
from gateway.delivery.consent_recheck import recheck_consent
from gateway.disclosure import (
    CONSENT_DECISION_EVENT,
    DISCLOSURE_EVENT,
    EMERGENCY_DISCLOSURE_EVENT,
    Disclosure,
    ReferralFacts,
    decide_disclosure,
    minimised_view,
)
from gateway.intake.routes import decide_routes
from gateway.routing import Route, RoutingDecision

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
CONFIG = parse_config(
    {
        "destinations": [
            {"name": "county-ehr", "type": "fhir", "base_url": "https://ehr.example.org/fhir"},
            {"name": "crisis-desk", "type": "crisis"},
            {"name": "food-bank", "type": "community", "hsds_base_url": "https://hsds.example.org"},
            {"name": "inbox", "type": "inbox"},
        ],
        "routing": [{"name": "fallback", "send_to": ["inbox"]}],
    }
)
PART2_LABELS = [{"system": ACT_CODE, "code": "ETH"}, {"system": ACT_CODE, "code": "42CFRPart2"}]


def bundle(name: str = "contract-example", *, part2: bool = False) -> dict[str, Any]:
    mapped: dict[str, Any] = json.loads(
        (ROOT / "tests/fixtures/bundles" / f"{name}.json").read_text()
    )
    if part2:  # substance-use data on the first Observation (42 CFR Part 2)
        first = next(e for e in mapped["entry"] if e["resource"]["resourceType"] == "Observation")
        first["resource"].setdefault("meta", {}).setdefault("security", []).extend(PART2_LABELS)
    return mapped


def consent(
    share_with: list[str], *, expires: str = "2027-11-27", names_part2: bool = False
) -> dict[str, Any]:
    resource = consent_from_submission(
        {
            "share_with": share_with,
            "purposes": ["TREAT"],
            "accepted_text_version": "consent-text-v3",
            "expires": expires,
        },
        patient_ref="Patient/p1",
        patient_identifier={"system": "https://app.example.org/patients", "value": "p-1"},
        recorded_at="2026-11-01T09:00:00Z",
        consent_uuid="c1",
        client_id="triage-app",
    )
    if names_part2:
        for provision in resource["provision"]["provision"]:
            provision.setdefault("securityLabel", []).extend(copy.deepcopy(PART2_LABELS))
    return resource


def deny_all() -> dict[str, Any]:
    """A consent in force whose base rule is deny and that permits nothing."""
    resource = consent(["ehr"])
    resource["provision"]["provision"] = []
    return resource


# (case, destination, consent, bundle, risk level, permitted?, emergency?)
CASES: list[tuple[str, str, dict[str, Any] | None, dict[str, Any], str, bool, bool]] = [
    ("ehr permitted", "county-ehr", consent(["ehr"]), bundle(), "moderate", True, False),
    ("inbox is the care team", "inbox", consent(["ehr"]), bundle(), "low", True, False),
    ("community not shared", "food-bank", consent(["ehr"]), bundle(), "low", False, False),
    ("deny-all consent", "county-ehr", deny_all(), bundle(), "moderate", False, False),
    ("no consent at all", "county-ehr", None, bundle(), "moderate", False, False),
    (
        "expired consent",
        "county-ehr",
        consent(["ehr"], expires="2026-11-02"),
        bundle(),
        "moderate",
        False,
        False,
    ),
    (
        "imminent risk, crisis: ETREAT",
        "crisis-desk",
        deny_all(),
        bundle("imminent-risk"),
        "imminent",
        True,
        True,
    ),
    (
        "imminent risk, no consent: ETREAT",
        "crisis-desk",
        None,
        bundle("imminent-risk"),
        "imminent",
        True,
        True,
    ),
    (
        "imminent risk but not a crisis service",
        "county-ehr",
        deny_all(),
        bundle("imminent-risk"),
        "imminent",
        False,
        False,
    ),
    (
        "high risk, crisis not consented",
        "crisis-desk",
        consent(["ehr"]),
        bundle(),
        "high",
        False,
        False,
    ),
    (
        "Part 2 data the consent does not name",
        "county-ehr",
        consent(["ehr"]),
        bundle(part2=True),
        "moderate",
        True,
        False,
    ),
    (
        "Part 2 data the consent names",
        "county-ehr",
        consent(["ehr"], names_part2=True),
        bundle(part2=True),
        "moderate",
        True,
        False,
    ),
    (
        "Part 2 data in an emergency",
        "crisis-desk",
        None,
        bundle("imminent-risk", part2=True),
        "imminent",
        True,
        True,
    ),
]


def at_intake(
    destination: str, resource: dict[str, Any] | None, data: dict[str, Any], risk: str
) -> Disclosure:
    """The decision intake makes while choosing routes."""
    routing = RoutingDecision(routes=(Route(destination, ("fallback",), "a test"),))
    facts = ReferralFacts.of(data, risk)
    [decided] = decide_routes(CONFIG, routing, resource, facts, NOW)
    return decided.disclosure


def before_sending(
    destination: str, resource: dict[str, Any] | None, data: dict[str, Any], risk: str
) -> Disclosure:
    """The decision delivery makes again just before sending."""
    claim = Claim(
        delivery_id="d1",
        referral_id="r1",
        destination=destination,
        lane=1,
        attempts=1,
        purpose="TREAT",
        task_id=None,
        patient_id="p1",
        client_id="triage-app",
        risk_level=risk,
        urgency="urgent",
        consent_id="c1",
        accepted_at="2026-11-27T12:29:00Z",
        bundle=data,
    )
    return recheck_consent(claim, CONFIG.destination(destination), resource, lambda: NOW)


@pytest.mark.parametrize(
    ("destination", "resource", "data", "risk", "permitted", "emergency"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_intake_and_delivery_decide_alike(
    destination: str,
    resource: dict[str, Any] | None,
    data: dict[str, Any],
    risk: str,
    permitted: bool,
    emergency: bool,
) -> None:
    intake = at_intake(destination, resource, data, risk)
    delivery = before_sending(destination, resource, data, risk)
    assert intake == delivery
    assert intake.permit is permitted
    assert intake.decision.emergency is emergency
    assert intake.decision.purpose == ("ETREAT" if emergency else "TREAT")
    if permitted:
        assert intake.outbound(data) == delivery.outbound(data)


def test_a_consent_withdrawn_after_intake_stops_the_delivery() -> None:
    given = consent(["ehr"])
    assert at_intake("county-ehr", given, bundle(), "moderate").permit
    withdrawn = {**given, "status": "inactive"}
    later = before_sending("county-ehr", withdrawn, bundle(), "moderate")
    assert not later.permit
    with pytest.raises(ValueError, match="county-ehr"):
        later.outbound(bundle())


def test_part2_data_not_named_by_the_consent_never_leaves() -> None:
    data = bundle(part2=True)
    decided = before_sending("county-ehr", consent(["ehr"]), data, "moderate")
    assert any(isinstance(o, RedactLabelled) for o in decided.decision.obligations)
    sent = json.dumps(decided.outbound(data))
    assert "42CFRPart2" not in sent and "ETH" not in sent


def test_part2_data_the_consent_names_travels_with_the_redisclosure_notice() -> None:
    data = bundle(part2=True)
    decided = before_sending("county-ehr", consent(["ehr"], names_part2=True), data, "moderate")
    assert any(isinstance(o, AttachRedisclosureNotice) for o in decided.decision.obligations)
    sent = decided.outbound(data)
    labelled = [
        e["resource"]
        for e in sent["entry"]
        if "42CFRPart2" in {s["code"] for s in e["resource"].get("meta", {}).get("security", [])}
    ]
    assert labelled
    assert all(
        "NORDSCLCD" in {s["code"] for s in r["meta"]["security"]} and r.get("extension")
        for r in labelled
    )


def test_the_decision_names_what_the_audit_records() -> None:
    routine = before_sending("county-ehr", consent(["ehr"]), bundle(), "moderate").audit
    assert (routine.decision_kind, routine.sent_kind) == (CONSENT_DECISION_EVENT, DISCLOSURE_EVENT)
    assert (routine.recipient, routine.permit, routine.consent_id) == ("county-ehr", True, "c1")
    emergency = before_sending("crisis-desk", None, bundle("imminent-risk"), "imminent").audit
    assert emergency.sent_kind == EMERGENCY_DISCLOSURE_EVENT
    assert emergency.purpose == "ETREAT"
    denied = before_sending("food-bank", consent(["ehr"]), bundle(), "low").audit
    assert denied.decision_kind == CONSENT_DECISION_EVENT and not denied.permit
    assert "community" in denied.reason


def test_the_minimised_view_is_what_delivery_sends() -> None:
    data = bundle()
    for name in ("county-ehr", "crisis-desk", "food-bank"):
        given = consent(["ehr", "crisis", "community"])
        decided = before_sending(name, given, data, "moderate")
        assert minimised_view(data, decided.category, decided.decision.obligations) == (
            decided.outbound(data)
        )
    community = minimised_view(data, "community")
    kinds = {e["resource"]["resourceType"] for e in community["entry"]}
    assert "QuestionnaireResponse" not in kinds  # a community service sees no answers
    assert data == bundle()  # the referral itself is not changed


def test_the_facts_are_read_from_the_whole_bundle() -> None:
    facts = ReferralFacts.of(bundle(part2=True), "high")
    assert {"PSY", "R", "ETH", "42CFRPart2"} <= facts.labels
    assert {"Patient", "Observation", "ServiceRequest", "Task"} <= facts.classes
    assert facts.risk_level == "high"


def test_an_expired_consent_is_judged_at_the_moment_of_sending() -> None:
    expiring = consent(["ehr"], expires="2026-11-28")
    facts = ReferralFacts.of(bundle(), "moderate")
    ehr = CONFIG.destination("county-ehr")
    assert decide_disclosure(ehr, expiring, facts, NOW).permit
    assert not decide_disclosure(ehr, expiring, facts, NOW + timedelta(days=2)).permit


def _constructs_decision_request(path: Path) -> bool:
    tree = ast.parse(path.read_text("utf-8"))
    return any(
        isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "DecisionRequest")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "DecisionRequest")
        )
        for node in ast.walk(tree)
    )


def test_only_the_disclosure_module_builds_a_decision_request() -> None:
    builders = sorted(
        str(path.relative_to(ROOT))
        for package in ("gateway", "connectors", "consent", "mappings")
        for path in (ROOT / package).rglob("*.py")
        if _constructs_decision_request(path)
    )
    assert builders == ["gateway/disclosure.py"]
