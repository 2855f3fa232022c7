"""The consent engine's edges: what is recorded, which consent decides, how provisions match.

Each test pins one decision a wrong engine would get wrong (found by mutation testing,
docs/testing.md): the stored decision word, the purpose on every path, the newest of
several consents, sibling and nested provisions and their periods.
"""

from __future__ import annotations

from typing import Any

import pytest
from consent_trees import COMMUNITY, CRISIS, EHR, NOW, actor, consent, deny, label, permit, request

from consent.engine import Recipient, decide, most_recent
from consent.obligations import AddLabels, WithholdResources
from consent.vocab import CONFIDENTIALITY, DESTINATION_SYSTEM, PSYCHIATRY, RESTRICTED

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


def test_a_root_that_does_not_apply_does_not_cover_rather_than_says_no() -> None:
    ehr_only_root = consent(base="permit", actor=[actor("ehr")])
    decision = decide([ehr_only_root], request(COMMUNITY), NOW)
    assert (decision.permit, decision.provision) == (False, "provision")
    assert "does not cover" in decision.reason and "says no" not in decision.reason
