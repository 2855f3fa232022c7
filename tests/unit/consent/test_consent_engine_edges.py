"""The consent engine's edges: what is recorded, which consent decides, how provisions match.

Each test pins one decision a wrong engine would get wrong (found by mutation testing,
docs/testing.md): the stored decision word, the purpose on every path, the newest of
several consents, sibling and nested provisions, and the labels a permit carries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consent.engine import Decision, DecisionRequest, Recipient, decide, most_recent
from consent.obligations import (
    AddLabels,
    AttachRedisclosureNotice,
    RedactLabelled,
    WithholdResources,
)
from consent.vocab import (
    ACT_CODE,
    CONFIDENTIALITY,
    DESTINATION_SYSTEM,
    NO_REDISCLOSURE,
    PSYCHIATRY,
    RECIPIENT_CATEGORY_SYSTEM,
    RESTRICTED,
    Label,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EHR = Recipient("ehr", "st-mary-ehr")
CRISIS = Recipient("crisis", "county-crisis")
COMMUNITY = Recipient("community", "food-bank")


def actor(category: str, system: str = RECIPIENT_CATEGORY_SYSTEM) -> dict[str, Any]:
    return {"reference": {"identifier": {"system": system, "value": category}}}


def consent(
    *children: dict[str, Any],
    base: str = "deny",
    consent_id: str = "c1",
    when: str | None = "2026-11-01T09:00:00Z",
    **root: Any,
) -> dict[str, Any]:
    made: dict[str, Any] = {
        "resourceType": "Consent",
        "id": consent_id,
        "status": "active",
        "provision": {"type": base, **root, "provision": list(children)},
    }
    if when is not None:
        made["dateTime"] = when
    return made


def permit(category: str = "ehr", **extra: Any) -> dict[str, Any]:
    return {"type": "permit", "actor": [actor(category)], **extra}


def deny(category: str = "ehr", **extra: Any) -> dict[str, Any]:
    return {"type": "deny", "actor": [actor(category)], **extra}


def label(code: str, system: str = ACT_CODE, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


def request(
    recipient: Recipient = EHR,
    purpose: str = "TREAT",
    labels: tuple[str, ...] = (),
    classes: tuple[str, ...] = (),
    risk: str | None = None,
) -> DecisionRequest:
    return DecisionRequest(recipient, purpose, frozenset(labels), frozenset(classes), risk)


# -- what is stored and audited ----------------------------------------------------------


def test_a_deny_is_recorded_as_deny() -> None:
    decision = decide([consent(permit("ehr"))], request(COMMUNITY), NOW)
    recorded = decision.to_dict()
    assert recorded["decision"] == "deny"
    assert recorded == {
        "decision": "deny",
        "reason": decision.reason,
        "purpose": "TREAT",
        "provision": "provision",
        "consent_id": "c1",
        "obligations": [],
        "emergency": False,
    }


def test_no_consent_is_recorded_as_deny_with_its_purpose() -> None:
    recorded = decide([], request(purpose="CAREMGT"), NOW).to_dict()
    assert recorded["decision"] == "deny"
    assert recorded["purpose"] == "CAREMGT"
    assert recorded["consent_id"] is None and recorded["provision"] is None
    assert recorded["emergency"] is False


def test_a_permit_is_recorded_whole() -> None:
    decision = decide([consent(permit("ehr"))], request(), NOW)
    assert decision.to_dict() == {
        "decision": "permit",
        "reason": decision.reason,
        "purpose": "TREAT",
        "provision": "provision.provision[0]",
        "consent_id": "c1",
        "obligations": [],
        "emergency": False,
    }


def test_an_emergency_is_recorded_as_an_emergency_permit() -> None:
    recorded = decide([], request(CRISIS, risk="imminent"), NOW).to_dict()
    assert recorded["decision"] == "permit"
    assert recorded["emergency"] is True
    assert recorded["purpose"] == "ETREAT"
    assert recorded["obligations"] == [AddLabels((RESTRICTED, PSYCHIATRY)).to_dict()]


# -- the purpose of use is kept on every path ---------------------------------------------


@pytest.mark.parametrize(
    ("consents", "recipient", "permit_expected"),
    [
        ([], EHR, False),
        ([consent(permit("ehr", purpose=[{"code": "CAREMGT"}]))], EHR, True),
        ([consent(permit("ehr"))], COMMUNITY, False),
        ([consent(permit("ehr"), deny("ehr"))], EHR, False),
    ],
)
def test_the_decision_keeps_the_purpose_asked_for(
    consents: list[dict[str, Any]], recipient: Recipient, permit_expected: bool
) -> None:
    decision = decide(consents, request(recipient, purpose="CAREMGT"), NOW)
    assert decision.permit is permit_expected
    assert decision.purpose == "CAREMGT"


# -- which consent decides -----------------------------------------------------------------


def test_the_newest_of_three_decides_whatever_the_order() -> None:
    old = consent(permit("community"), consent_id="old", when="2026-10-01T09:00:00Z")
    middle = consent(permit("community"), consent_id="middle", when="2026-11-01T09:00:00Z")
    newest = consent(permit("ehr"), consent_id="newest", when="2026-11-20T09:00:00Z")
    for order in ([old, middle, newest], [newest, middle, old], [middle, newest, old]):
        assert most_recent(order)["id"] == "newest"
        decision = decide(order, request(COMMUNITY), NOW)
        assert (decision.permit, decision.consent_id) == (False, "newest")


def test_dates_and_datetimes_compare_as_instants() -> None:
    by_date = consent(consent_id="by-date", when="2026-11-02")
    by_time = consent(consent_id="by-time", when="2026-11-01T23:00:00-05:00")  # 11-02 04:00Z
    assert most_recent([by_date, by_time])["id"] == "by-time"
    assert most_recent([by_time, by_date])["id"] == "by-time"


def test_undated_consents_come_last() -> None:
    undated = consent(permit("community"), consent_id="undated", when=None)
    dated = consent(permit("ehr"), consent_id="dated")
    assert most_recent([undated, dated])["id"] == "dated"
    assert decide([undated, dated], request(COMMUNITY), NOW).consent_id == "dated"


def test_with_no_dates_the_first_decides() -> None:
    first = consent(permit("ehr"), consent_id="first", when=None)
    second = consent(permit("community"), consent_id="second", when=None)
    assert most_recent([first, second])["id"] == "first"
    decision = decide([first, second], request(), NOW)
    assert (decision.permit, decision.consent_id) == (True, "first")


def test_of_equal_dates_the_first_decides() -> None:
    first = consent(consent_id="first")
    second = consent(consent_id="second")
    assert most_recent([first, second])["id"] == "first"


def test_a_consent_without_provision_is_in_force_and_covers_nothing() -> None:
    bare = {"resourceType": "Consent", "id": "bare", "status": "active"}
    decision = decide([bare], request(), NOW)
    assert not decision.permit
    assert (decision.consent_id, decision.provision) == ("bare", "provision")


def test_only_active_consents_count() -> None:
    for status in ("draft", "proposed", "rejected", "inactive", "entered-in-error"):
        decision = decide([{**consent(base="permit"), "status": status}], request(), NOW)
        assert not decision.permit and decision.consent_id is None


# -- how provisions match -------------------------------------------------------------------


def test_a_later_actor_in_the_list_matches() -> None:
    both = {"type": "permit", "actor": [actor("community"), actor("ehr")]}
    assert decide([consent(both)], request(), NOW).permit


def test_an_actor_without_a_reference_matches_nobody() -> None:
    odd = {"type": "permit", "actor": [{"role": {"text": "recipient"}}]}
    assert not decide([consent(odd)], request(), NOW).permit


def test_a_destination_name_is_not_a_category() -> None:
    named_as_category = {"type": "permit", "actor": [actor("st-mary-ehr")]}
    assert not decide([consent(named_as_category)], request(), NOW).permit
    by_name = {"type": "permit", "actor": [actor("st-mary-ehr", DESTINATION_SYSTEM)]}
    assert decide([consent(by_name)], request(), NOW).permit
    category_as_name = {"type": "permit", "actor": [actor("ehr", DESTINATION_SYSTEM)]}
    assert not decide([consent(category_as_name)], request(), NOW).permit


def test_any_listed_purpose_matches() -> None:
    purposes = [{"code": "HPAYMT"}, {"code": "TREAT"}]
    assert decide([consent(permit(purpose=purposes))], request(), NOW).permit
    assert not decide([consent(permit(purpose=purposes))], request(purpose="HRESCH"), NOW).permit


def test_disclose_in_any_action_matches() -> None:
    actions = [{"coding": [{"code": "access"}]}, {"coding": [{"code": "disclose"}]}]
    assert decide([consent(permit(action=actions))], request(), NOW).permit
    uncoded = [{"text": "disclose"}]
    assert not decide([consent(permit(action=uncoded))], request(), NOW).permit


def test_a_root_limited_to_a_period_covers_only_that_period() -> None:
    later = consent(permit(), period={"start": "2026-11-01", "end": "2027-01-01"})
    assert decide([later], request(), NOW).permit
    nested_past = consent(permit(period={"end": "2026-11-26T23:59:59Z"}))
    decision = decide([nested_past], request(), NOW)
    assert (decision.permit, decision.provision) == (False, "provision")


def test_the_first_of_several_applying_permits_decides() -> None:
    first = permit(purpose=[{"code": "TREAT"}])
    decision = decide([consent(deny("community"), first, permit())], request(), NOW)
    assert decision.provision == "provision.provision[1]"


def test_the_first_of_several_denies_decides() -> None:
    decision = decide([consent(permit(), deny(), deny())], request(), NOW)
    assert (decision.permit, decision.provision) == (False, "provision.provision[1]")


def test_a_grouping_provision_without_type_passes_its_parent_rule_down() -> None:
    group = {"actor": [actor("ehr")], "provision": [deny(purpose=[{"code": "HRESCH"}])]}
    under_permit = decide([consent(group, base="permit")], request(), NOW)
    assert (under_permit.permit, under_permit.provision) == (True, "provision")
    under_deny = decide([consent(group)], request(), NOW)
    assert not under_deny.permit
    research = decide([consent(group, base="permit")], request(purpose="HRESCH"), NOW)
    assert (research.permit, research.provision) == (False, "provision.provision[0].provision[0]")


def test_a_deny_naming_labels_applies_when_the_data_carries_any_of_them() -> None:
    labelled = deny(securityLabel=[label("ETH"), label("PSY")])
    decision = decide([consent(permit(), labelled)], request(labels=("PSY",)), NOW)
    assert (decision.permit, decision.provision) == (False, "provision.provision[1]")


def test_a_permit_naming_labels_applies_to_data_without_them() -> None:
    labelled = permit(securityLabel=[label("R", CONFIDENTIALITY)])
    assert decide([consent(labelled)], request(labels=()), NOW).permit


# -- data classes --------------------------------------------------------------------------


def test_a_class_limit_deep_in_the_tree_is_applied_per_class() -> None:
    nested_class = permit(provision=[deny(**{"class": [{"code": "Observation"}]})])
    req = request(classes=("Observation", "Patient"))
    decision = decide([consent(nested_class)], req, NOW)
    assert decision.permit
    assert decision.obligations == (WithholdResources(("Observation",)),)
    assert decision.provision == "provision.provision[0]"


def test_withheld_classes_are_listed_in_order_and_named_in_the_reason() -> None:
    only_patient = permit(**{"class": [{"code": "Patient"}]})
    req = request(classes=("RiskAssessment", "Patient", "Observation"))
    decision = decide([consent(only_patient)], req, NOW)
    assert decision.permit
    assert decision.obligations == (WithholdResources(("Observation", "RiskAssessment")),)
    assert "Observation" in decision.reason and "RiskAssessment" in decision.reason


def test_when_no_class_is_covered_the_first_class_explains_the_deny() -> None:
    consent_ = consent(
        deny(**{"class": [{"code": "Observation"}]}),
        permit(**{"class": [{"code": "Patient"}]}),
        base="deny",
    )
    decision = decide([consent_], request(classes=("Observation", "Task")), NOW)
    assert (decision.permit, decision.provision) == (False, "provision.provision[0]")
    assert "says no" in decision.reason


def test_withholding_comes_before_the_label_obligations() -> None:
    labelled = permit(
        securityLabel=[label("PSY")],
        provision=[deny(**{"class": [{"code": "Observation"}]})],
    )
    decision = decide(
        [consent(labelled)], request(labels=("PSY",), classes=("Observation", "Patient")), NOW
    )
    assert decision.obligations == (
        WithholdResources(("Observation",)),
        AddLabels((Label(ACT_CODE, "PSY", ""),)),
    )


# -- labels a permit carries ---------------------------------------------------------------


def test_only_act_code_and_confidentiality_labels_are_added_once_each() -> None:
    labels = [
        label("PSY", display="psychiatry"),
        label("R", CONFIDENTIALITY),
        label("PSY", display="psychiatry"),
        label("X", "urn:other"),
    ]
    decision = decide([consent(permit(securityLabel=labels))], request(), NOW)
    assert decision.obligations == (
        AddLabels((Label(ACT_CODE, "PSY", "psychiatry"), Label(CONFIDENTIALITY, "R", ""))),
    )


def test_labels_named_on_the_root_and_the_path_are_carried() -> None:
    tree = consent(
        permit(securityLabel=[label("PSY")], provision=[permit(securityLabel=[label("ETH")])]),
        deny("community", securityLabel=[label("HIV")]),
        base="permit",
        securityLabel=[label("R", CONFIDENTIALITY)],
    )
    decision = decide([tree], request(labels=("ETH", "SUD")), NOW)
    assert decision.provision == "provision.provision[0].provision[0]"
    assert decision.obligations == (
        RedactLabelled(("SUD",)),
        AttachRedisclosureNotice(("ETH",)),
        AddLabels((Label(CONFIDENTIALITY, "R"), Label(ACT_CODE, "PSY"), NO_REDISCLOSURE)),
    )


def test_a_protected_label_is_never_added_as_a_plain_label() -> None:
    decision = decide([consent(permit(securityLabel=[label("ETH")]))], request(), NOW)
    assert decision.obligations == ()


def test_the_emergency_path_marks_what_it_sends() -> None:
    plain = decide([], request(CRISIS, risk="imminent"), NOW)
    assert plain.obligations == (AddLabels((RESTRICTED, PSYCHIATRY)),)
    protected = decide([], request(CRISIS, labels=("SUD", "PSY", "ETH"), risk="imminent"), NOW)
    assert protected.obligations == (
        AddLabels((RESTRICTED, PSYCHIATRY)),
        AttachRedisclosureNotice(("ETH", "SUD")),
    )
    assert protected.provision is None and protected.consent_id is None


def test_the_emergency_path_is_only_for_imminent_risk_to_a_crisis_service() -> None:
    not_imminent = decide([], request(CRISIS, risk="high"), NOW)
    assert not not_imminent.emergency and not not_imminent.permit
    not_crisis = decide([consent(permit())], request(EHR, risk="imminent"), NOW)
    assert not not_crisis.emergency and not_crisis.purpose == "TREAT"


# -- reasons a person reads ----------------------------------------------------------------


def test_reasons_name_the_consent_the_recipient_and_the_purpose() -> None:
    permitted = decide([consent(permit(), consent_id="c-77")], request(), NOW)
    assert "c-77" in permitted.reason
    assert "care team" in permitted.reason and "care and treatment" in permitted.reason
    assert "does not cover" not in permitted.reason
    refused = decide([consent(permit(), deny(), consent_id="c-78")], request(), NOW)
    assert "c-78" in refused.reason and "says no" in refused.reason
    assert "care team" in refused.reason and "care and treatment" in refused.reason


def test_an_unknown_recipient_category_or_purpose_is_named_as_given() -> None:
    other = Recipient("pharmacy", "corner-pharmacy")
    decision = decide([consent(base="permit")], request(other, purpose="XYZ"), NOW)
    assert decision.permit
    assert "corner-pharmacy" in decision.reason and "XYZ" in decision.reason
    refused = decide([consent(permit())], request(other, purpose="XYZ"), NOW)
    assert "corner-pharmacy" in refused.reason and "XYZ" in refused.reason
    assert "does not cover" in refused.reason


def test_decisions_are_values() -> None:
    assert decide([], request(), NOW) == Decision(
        permit=False, reason=decide([], request(), NOW).reason, purpose="TREAT"
    )


def test_a_withheld_class_reason_still_says_who_may_receive_the_rest() -> None:
    only_patient = permit(**{"class": [{"code": "Patient"}]})
    req = request(classes=("RiskAssessment", "Patient", "Observation"))
    reason = decide([consent(only_patient, consent_id="c-9")], req, NOW).reason
    assert "c-9" in reason and "care team" in reason
    assert "Observation, RiskAssessment" in reason


def test_periods_count_when_classes_are_decided_one_by_one() -> None:
    expired_class_limit = deny(period={"end": "2026-11-01"}, **{"class": [{"code": "Observation"}]})
    req = request(classes=("Observation", "Patient"))
    decision = decide([consent(permit(), expired_class_limit)], req, NOW)
    assert decision.permit and decision.obligations == ()
    current_class_limit = deny(period={"end": "2027-01-01"}, **{"class": [{"code": "Observation"}]})
    decision = decide([consent(permit(), current_class_limit)], req, NOW)
    assert decision.obligations == (WithholdResources(("Observation",)),)


def test_periods_count_deep_in_the_tree() -> None:
    nested = permit(provision=[permit(provision=[deny(period={"start": "2026-11-20"})])])
    decision = decide([consent(nested)], request(), NOW)
    assert (decision.permit, decision.provision) == (
        False, "provision.provision[0].provision[0].provision[0]"
    )
    not_yet = permit(provision=[permit(provision=[deny(period={"start": "2026-12-01"})])])
    decision = decide([consent(not_yet)], request(), NOW)
    assert (decision.permit, decision.provision) == (True, "provision.provision[0].provision[0]")


def test_the_emergency_reason_says_it_is_recorded_and_reviewed() -> None:
    reason = decide([], request(CRISIS, risk="imminent"), NOW).reason
    assert reason.startswith("Emergency")
    assert "imminent" in reason and "crisis service" in reason
    assert "without consent" in reason
    assert "recorded" in reason and "reviewed" in reason


def test_a_root_that_does_not_apply_does_not_cover_rather_than_says_no() -> None:
    ehr_only_root = consent(base="permit", actor=[actor("ehr")])
    decision = decide([ehr_only_root], request(COMMUNITY), NOW)
    assert (decision.permit, decision.provision) == (False, "provision")
    assert "does not cover" in decision.reason and "says no" not in decision.reason


def test_a_class_limit_on_the_root_withholds_the_other_classes() -> None:
    patients_only = consent(base="permit", **{"class": [{"code": "Patient"}]})
    decision = decide([patients_only], request(classes=("Observation", "Patient")), NOW)
    assert decision.permit
    assert decision.obligations == (WithholdResources(("Observation",)),)


def assert_sentences(text: str) -> None:
    """Plain sentences: each starts with a capital letter and the text ends with a full stop."""
    assert text.endswith(".")
    for sentence in text.split(". "):
        assert sentence[:1].isupper(), sentence


def test_every_reason_is_made_of_plain_sentences() -> None:
    only_patient = permit(**{"class": [{"code": "Patient"}]})
    for decision in (
        decide([], request(), NOW),
        decide([], request(CRISIS, risk="imminent"), NOW),
        decide([consent(permit())], request(), NOW),
        decide([consent(only_patient)], request(classes=("Patient", "Task")), NOW),
        decide([consent(permit(), deny())], request(), NOW),
        decide([consent(permit())], request(COMMUNITY), NOW),
    ):
        assert_sentences(decision.reason)
