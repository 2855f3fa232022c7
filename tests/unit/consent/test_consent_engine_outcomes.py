"""What a consent permit carries and says: withheld classes, the labels and notices of
42 CFR Part 2, the emergency path, and reasons a person reads (docs/testing.md)."""

from __future__ import annotations

from consent_trees import COMMUNITY, CRISIS, EHR, NOW, consent, deny, label, permit, request

from consent.engine import Decision, Recipient, decide
from consent.obligations import (
    AddLabels,
    AttachRedisclosureNotice,
    RedactLabelled,
    WithholdResources,
)
from consent.vocab import (
    ACT_CODE,
    CONFIDENTIALITY,
    NO_REDISCLOSURE,
    PSYCHIATRY,
    RESTRICTED,
    Label,
)

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


def test_the_emergency_reason_says_it_is_recorded_and_reviewed() -> None:
    reason = decide([], request(CRISIS, risk="imminent"), NOW).reason
    assert reason.startswith("Emergency")
    assert "imminent" in reason and "crisis service" in reason
    assert "without consent" in reason
    assert "recorded" in reason and "reviewed" in reason


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
