"""Table-driven tests of the consent decision engine, one row per rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consent.engine import Decision, DecisionRequest, Recipient, decide, is_in_force
from consent.fhir_consent import consent_from_submission, recipient_actor
from consent.obligations import (
    AddLabels,
    AttachRedisclosureNotice,
    RedactLabelled,
    WithholdResources,
)
from consent.vocab import (
    ACT_CODE,
    DESTINATION_SYSTEM,
    NO_REDISCLOSURE,
    REDISCLOSURE_NOTICE,
    Label,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EHR = Recipient("ehr", "st-mary-ehr")
CRISIS = Recipient("crisis", "county-crisis")
COMMUNITY = Recipient("community", "food-bank")


def submitted(
    share_with: list[str],
    *,
    consent_id: str = "c1",
    recorded_at: str = "2026-11-01T09:00:00Z",
    expires: str | None = "2027-11-27",
    purposes: tuple[str, ...] = ("TREAT",),
) -> dict[str, Any]:
    inline: dict[str, Any] = {
        "share_with": share_with,
        "purposes": list(purposes),
        "accepted_text_version": "consent-text-v3",
    }
    if expires:
        inline["expires"] = expires
    return consent_from_submission(
        inline,
        patient_ref="Patient/p1",
        patient_identifier={"system": "https://app.example.org/patients", "value": "p-123"},
        recorded_at=recorded_at,
        consent_uuid=consent_id,
        client_id="triage-app",
    )


def tree(*children: dict[str, Any], base: str = "deny", **root: Any) -> dict[str, Any]:
    """A hand-written Consent with the given root provision."""
    return {
        "resourceType": "Consent",
        "id": root.pop("id", "t1"),
        "status": root.pop("status", "active"),
        "dateTime": root.pop("dateTime", "2026-11-01T09:00:00Z"),
        "provision": {"type": base, **root, "provision": list(children)},
    }


def permit(*categories: str, **extra: Any) -> dict[str, Any]:
    return {"type": "permit", "actor": [recipient_actor(c) for c in categories], **extra}


def deny(*categories: str, **extra: Any) -> dict[str, Any]:
    return {"type": "deny", "actor": [recipient_actor(c) for c in categories], **extra}


def label(code: str) -> dict[str, str]:
    return {"system": ACT_CODE, "code": code}


def request(
    recipient: Recipient = EHR,
    purpose: str = "TREAT",
    labels: tuple[str, ...] = (),
    classes: tuple[str, ...] = (),
    risk: str | None = None,
) -> DecisionRequest:
    return DecisionRequest(recipient, purpose, frozenset(labels), frozenset(classes), risk)


CASES: list[tuple[str, list[dict[str, Any]], DecisionRequest, bool, str | None, str | None]] = [
    # id, consents, request, permit?, deciding provision, consent id
    ("no consent at all", [], request(), False, None, None),
    ("permit for the named category", [submitted(["ehr"])], request(), True,
     "provision.provision[0]", "c1"),
    ("category not named: base deny", [submitted(["ehr"])], request(COMMUNITY), False,
     "provision", "c1"),
    ("purpose not named", [submitted(["ehr"])], request(purpose="HRESCH"), False,
     "provision", "c1"),
    ("one of several purposes", [submitted(["ehr"], purposes=("TREAT", "CAREMGT"))],
     request(purpose="CAREMGT"), True, "provision.provision[0]", "c1"),
    ("revoked consent is not in force",
     [{**submitted(["ehr"]), "status": "inactive"}], request(), False, None, None),
    ("expired consent is not in force", [submitted(["ehr"], expires="2026-11-26")],
     request(), False, None, None),
    ("expiry date is inclusive of the day", [submitted(["ehr"], expires="2026-11-27")],
     request(), True, "provision.provision[0]", "c1"),
    ("consent not yet started", [submitted(["ehr"], recorded_at="2026-12-01T00:00:00Z")],
     request(), False, None, None),
    ("most recent consent wins (narrower, newer)",
     [submitted(["ehr", "community"], consent_id="old"),
      submitted(["ehr"], consent_id="new", recorded_at="2026-11-20T09:00:00Z")],
     request(COMMUNITY), False, "provision", "new"),
    ("most recent consent wins (broader, newer)",
     [submitted(["ehr"], consent_id="old"),
      submitted(["ehr", "community"], consent_id="new", recorded_at="2026-11-20T09:00:00Z")],
     request(COMMUNITY), True, "provision.provision[1]", "new"),
    ("newer but revoked consent falls back to the older",
     [submitted(["ehr"], consent_id="old"),
      {**submitted(["community"], consent_id="new", recorded_at="2026-11-20T09:00:00Z"),
       "status": "inactive"}],
     request(), True, "provision.provision[0]", "old"),
    ("explicit deny beats a permit at the same level",
     [tree(permit("ehr"), deny("ehr"))], request(), False, "provision.provision[1]", "t1"),
    ("nested deny overrides its parent permit",
     [tree(permit("ehr", provision=[deny("ehr", purpose=[{"code": "TREAT"}])]))],
     request(), False, "provision.provision[0].provision[0]", "t1"),
    ("nested permit overrides its parent deny",
     [tree(deny("crisis", provision=[permit("crisis")]))], request(CRISIS), True,
     "provision.provision[0].provision[0]", "t1"),
    ("base permit with nothing nested", [tree(base="permit")], request(), True,
     "provision", "t1"),
    ("root that does not apply covers nothing",
     [tree(base="permit", actor=[recipient_actor("ehr")])], request(COMMUNITY), False,
     "provision", "t1"),
    ("a destination named by name",
     [tree({"type": "permit", "actor": [{"reference": {"identifier": {
         "system": DESTINATION_SYSTEM, "value": "food-bank"}}}]})],
     request(COMMUNITY), True, "provision.provision[0]", "t1"),
    ("another destination of the category is not named",
     [tree({"type": "permit", "actor": [{"reference": {"identifier": {
         "system": DESTINATION_SYSTEM, "value": "food-bank"}}}]})],
     request(Recipient("community", "shelter")), False, "provision", "t1"),
    ("an action other than disclose does not apply",
     [tree(permit("ehr", action=[{"coding": [{"code": "access"}]}]))], request(), False,
     "provision", "t1"),
    ("a nested provision out of its period does not apply",
     [tree(permit("ehr"), deny("ehr", period={"end": "2026-11-01"}))], request(), True,
     "provision.provision[0]", "t1"),
    ("deny on a label applies only to data carrying it",
     [tree(permit("ehr"), deny("ehr", securityLabel=[label("PSY")]))],
     request(labels=("R",)), True, "provision.provision[0]", "t1"),
    ("deny on a label the data carries",
     [tree(permit("ehr"), deny("ehr", securityLabel=[label("PSY")]))],
     request(labels=("PSY",)), False, "provision.provision[1]", "t1"),
    ("imminent risk to a crisis service: emergency permit without consent",
     [], request(CRISIS, risk="imminent"), True, None, None),
    ("imminent risk does not open other recipients",
     [], request(COMMUNITY, risk="imminent"), False, None, None),
    ("high risk is not an emergency", [], request(CRISIS, risk="high"), False, None, None),
]


@pytest.mark.parametrize(
    ("consents", "req", "permit_expected", "provision", "consent_id"),
    [pytest.param(*row[1:], id=row[0]) for row in CASES],
)
def test_decision_table(
    consents: list[dict[str, Any]],
    req: DecisionRequest,
    permit_expected: bool,
    provision: str | None,
    consent_id: str | None,
) -> None:
    decision = decide(consents, req, NOW)
    assert decision.permit is permit_expected
    assert decision.provision == provision
    assert decision.consent_id == consent_id
    assert decision.reason


def test_no_consent_reason_is_plain() -> None:
    assert decide([], request(), NOW).reason == (
        "No consent is in force for this person, so nothing is shared."
    )


def test_deny_reasons_tell_explicit_from_not_covered() -> None:
    not_covered = decide([submitted(["ehr"])], request(COMMUNITY), NOW)
    said_no = decide([tree(permit("ehr"), deny("ehr"))], request(), NOW)
    assert not_covered.reason == (
        "Consent c1 does not cover sharing with a community service for your care and treatment."
    )
    assert said_no.reason == (
        "Consent t1 says no to sharing with your care team's health record "
        "for your care and treatment."
    )


def test_permit_carries_the_labels_the_consent_covers() -> None:
    decision = decide([submitted(["ehr"])], request(labels=("PSY", "R")), NOW)
    assert decision.obligations == (
        AddLabels(tuple(_labels_of(submitted(["ehr"])))),
    )
    assert decision.reason == (
        "Consent c1 allows sharing with your care team's health record "
        "for your care and treatment."
    )


def _labels_of(consent: dict[str, Any]) -> list[Label]:
    return [
        Label(c["system"], c["code"], c["display"])
        for c in consent["provision"]["provision"][0]["securityLabel"]
    ]


def test_substance_use_data_is_withheld_unless_named() -> None:
    decision = decide([submitted(["ehr"])], request(labels=("PSY", "ETH", "42CFRPart2")), NOW)
    assert decision.permit
    assert RedactLabelled(("42CFRPart2", "ETH")) in decision.obligations
    assert not any(isinstance(o, AttachRedisclosureNotice) for o in decision.obligations)


def test_substance_use_data_named_in_the_permit_travels_with_the_notice() -> None:
    named = tree(permit("ehr", securityLabel=[label("ETH"), label("42CFRPart2")]))
    decision = decide([named], request(labels=("ETH", "42CFRPart2")), NOW)
    assert decision.permit
    assert AttachRedisclosureNotice(("42CFRPart2", "ETH")) in decision.obligations
    assert AddLabels((NO_REDISCLOSURE,)) in decision.obligations
    assert not any(isinstance(o, RedactLabelled) for o in decision.obligations)


def test_a_label_named_on_an_ancestor_covers_the_nested_permit() -> None:
    named = tree(
        permit("ehr", securityLabel=[label("ETH")], provision=[permit("ehr")]),
    )
    decision = decide([named], request(labels=("ETH",)), NOW)
    assert decision.provision == "provision.provision[0].provision[0]"
    assert AttachRedisclosureNotice(("ETH",)) in decision.obligations


def test_classes_the_consent_does_not_cover_are_withheld() -> None:
    consent = tree(
        permit("community"),
        deny("community", **{"class": [{"code": "Observation"}, {"code": "RiskAssessment"}]}),
    )
    req = request(COMMUNITY, classes=("Patient", "ServiceRequest", "Observation"))
    decision = decide([consent], req, NOW)
    assert decision.permit
    assert decision.obligations == (WithholdResources(("Observation",)),)
    assert "does not cover Observation" in decision.reason


def test_no_covered_class_is_a_deny() -> None:
    consent = tree(permit("ehr", **{"class": [{"code": "Patient"}]}))
    decision = decide([consent], request(classes=("Observation",)), NOW)
    assert not decision.permit
    assert decision.provision == "provision"


def test_emergency_decision_is_marked_and_explained() -> None:
    revoked = {**submitted(["ehr"]), "status": "inactive"}
    decision = decide([revoked], request(CRISIS, labels=("ETH",), risk="imminent"), NOW)
    assert decision.emergency
    assert decision.purpose == "ETREAT"
    assert "imminent" in decision.reason
    assert AttachRedisclosureNotice(("ETH",)) in decision.obligations


def test_decision_serialises_to_plain_data() -> None:
    decision = decide([submitted(["ehr"])], request(labels=("ETH",)), NOW)
    as_dict = decision.to_dict()
    assert as_dict["decision"] == "permit"
    assert as_dict["provision"] == "provision.provision[0]"
    kinds = [o["kind"] for o in as_dict["obligations"]]
    assert kinds == ["redact-labelled", "add-labels"]
    assert as_dict["obligations"][0] == {"kind": "redact-labelled", "code": "REDACT",
                                         "labels": ["ETH"]}


def test_notice_obligation_carries_the_42_cfr_2_32_text() -> None:
    notice = AttachRedisclosureNotice(("ETH",)).to_dict()
    assert notice["text"] == REDISCLOSURE_NOTICE
    assert notice["regulation"] == "42 CFR 2.32"
    assert "42 CFR part 2" in notice["text"]


def test_decision_is_frozen() -> None:
    decision: Decision = decide([], request(), NOW)
    with pytest.raises(AttributeError):
        decision.permit = True  # type: ignore[misc]


def test_naive_now_is_taken_as_utc() -> None:
    naive = datetime(2026, 11, 27, 12, 0)
    assert decide([submitted(["ehr"])], request(), naive).permit


@pytest.mark.parametrize(
    ("end", "in_force"),
    [("2026-11-27T12:00:00Z", True), ("2026-11-27T11:59:59Z", False),
     ("2026-11-27", True), ("2026-11-26", False)],
)
def test_a_period_end_includes_its_matching_time(end: str, in_force: bool) -> None:
    consent = tree(base="permit", period={"start": "2026-01-01", "end": end})
    assert is_in_force(consent, NOW) is in_force
