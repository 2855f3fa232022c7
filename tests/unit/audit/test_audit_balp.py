"""Each BALP builder yields a valid R4 AuditEvent with the IHE codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.audit import balp
from gateway.audit.balp import Party
from mappings.fhir_models import model_class

RECORDED = "2026-11-27T10:05:00Z"
GATEWAY = Party({"display": "referral-gateway"}, "https://gateway.example.org")
EHR = Party({"identifier": {"system": "urn:referral-gateway:destination", "value": "st-mary"}},
            "https://ehr.example.org/fhir")
APP = Party({"identifier": {"system": "urn:referral-gateway:client", "value": "triage-app"}},
            "203.0.113.7")
PATIENT = {"reference": "Patient/p1"}
DATA = [{"reference": "ServiceRequest/sr1"}, {"reference": "Task/t1"}]


def _disclosure() -> dict[str, Any]:
    return balp.disclosure(recorded=RECORDED, gateway=GATEWAY, recipient=EHR, patient=PATIENT,
                           purpose="TREAT", data=DATA)


def _emergency() -> dict[str, Any]:
    return balp.emergency_disclosure(
        recorded=RECORDED, gateway=GATEWAY, recipient=EHR, recipient_name="County crisis desk",
        recipient_affiliation="County Behavioral Health", disclosed_by="referral-gateway",
        nature_of_emergency="imminent risk of suicide reported by the triage", patient=PATIENT,
        data=DATA)


def _received() -> dict[str, Any]:
    return balp.submission_received(recorded=RECORDED, gateway=GATEWAY, submitter=APP,
                                    patient=PATIENT, data=DATA)


def _permit() -> dict[str, Any]:
    return balp.consent_decision(
        recorded=RECORDED, gateway=GATEWAY, client=APP, recipient=EHR, patient=PATIENT,
        consent={"reference": "Consent/c1"}, permit=True, reason="allowed", purpose="TREAT",
        token_jti="jti-1")


def _deny() -> dict[str, Any]:
    return balp.consent_decision(
        recorded=RECORDED, gateway=GATEWAY, client=APP, recipient=EHR, patient=PATIENT,
        consent=None, permit=False, reason="No consent is in force", purpose="TREAT")


def _token_issued() -> dict[str, Any]:
    return balp.token_issued(recorded=RECORDED, gateway=GATEWAY, client=APP, jti="abc",
                             scope="system/ServiceRequest.c", expires_in=300)


def _token_refused() -> dict[str, Any]:
    return balp.token_refused(recorded=RECORDED, gateway=GATEWAY, client=APP,
                              error="invalid_client", description="unknown key",
                              requested_scope="system/ServiceRequest.c")


def _export() -> dict[str, Any]:
    return balp.patient_export(recorded=RECORDED, gateway=GATEWAY, requester=APP,
                               patient=PATIENT, resource_count=12)


def _erasure() -> dict[str, Any]:
    return balp.patient_erasure(
        recorded=RECORDED, gateway=GATEWAY, requester=APP,
        pseudonymised_patient={"identifier": {"system": "urn:referral-gateway:pseudonym",
                                              "value": "hmac-sha256:ab12"}},
        erased=["Patient", "ServiceRequest"], kept=["AuditEvent"])


BUILDERS: dict[str, tuple[Callable[[], dict[str, Any]], str, str, str, str]] = {
    # name: builder, type system, type code, action, outcome
    "disclosure": (_disclosure, balp.DCM, "110106", "R", "0"),
    "emergency": (_emergency, balp.DCM, "110106", "R", "0"),
    "received": (_received, balp.DCM, "110107", "C", "0"),
    "consent permit": (_permit, balp.DCM, "110113", "E", "0"),
    "consent deny": (_deny, balp.DCM, "110113", "E", "4"),
    "token issued": (_token_issued, balp.DCM, "110114", "E", "0"),
    "token refused": (_token_refused, balp.DCM, "110114", "E", "4"),
    "export": (_export, balp.DCM, "110106", "R", "0"),
    "erasure": (_erasure, balp.AUDIT_EVENT_TYPE, "rest", "D", "0"),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_builder_output_is_a_valid_r4_audit_event(name: str) -> None:
    build, system, code, action, outcome = BUILDERS[name]
    event = build()
    model_class("AuditEvent").model_validate(event)
    assert (event["type"]["system"], event["type"]["code"]) == (system, code)
    assert event["action"] == action
    assert event["outcome"] == outcome
    assert event["recorded"] == RECORDED
    assert event["source"]["observer"] == GATEWAY.who


def _agent_codes(event: dict[str, Any]) -> list[str]:
    return [agent["type"]["coding"][0]["code"] for agent in event["agent"]]


def test_disclosure_follows_the_balp_source_pattern() -> None:
    event = _disclosure()
    assert event["subtype"] == [{"system": balp.LIFECYCLE, "code": "disclose",
                                 "display": "Disclose Record Lifecycle Event"}]
    assert _agent_codes(event) == ["110153", "110152"]
    assert event["agent"][1]["network"] == {"address": "https://ehr.example.org/fhir",
                                            "type": "5"}
    patient = event["entity"][0]
    assert (patient["type"]["code"], patient["role"]["code"]) == ("1", "1")
    assert patient["what"] == PATIENT
    assert [e["what"] for e in event["entity"][1:]] == DATA
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"


def test_submission_received_has_the_app_as_source() -> None:
    event = _received()
    assert _agent_codes(event) == ["110153", "110152"]
    assert event["agent"][0]["who"] == APP.who
    assert event["agent"][0]["network"]["type"] == "2"


def test_emergency_disclosure_records_the_42_cfr_2_51_facts() -> None:
    event = _emergency()
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"
    facts = {d["type"]: d["valueString"] for d in event["entity"][-1]["detail"]}
    assert facts == {
        "recipient": "County crisis desk",
        "recipient-affiliation": "County Behavioral Health",
        "disclosed-by": "referral-gateway",
        "disclosed-at": RECORDED,
        "nature-of-emergency": "imminent risk of suicide reported by the triage",
    }


def test_consent_decision_follows_authz_consent() -> None:
    event = _permit()
    assert event["subtype"][0]["system"] == balp.BALP_AUTHZ_SUBTYPE
    assert event["subtype"][0]["code"] == "AuthZ-Consent"
    assert _agent_codes(event) == ["110150", "IRCP", "authserver"]
    types = [e["type"]["code"] for e in event["entity"]]
    assert types == ["1", "Consent", "UserOauthAgent"]
    assert event["entity"][2]["what"]["identifier"]["value"] == "urn:ietf:params:oauth:jti:jti-1"


def test_consent_deny_explains_why() -> None:
    event = _deny()
    assert event["outcomeDesc"] == "No consent is in force"
    assert [e["type"]["code"] for e in event["entity"]] == ["1"]


def test_token_events_carry_the_iti_71_subtype() -> None:
    issued, refused = _token_issued(), _token_refused()
    for event in (issued, refused):
        assert event["subtype"][0] == {"system": "urn:ihe:event-type-code", "code": "ITI-71",
                                       "display": "Get Access Token"}
    assert issued["entity"][0]["what"]["identifier"]["value"].endswith(":abc")
    assert {"type": "error", "valueString": "invalid_client"} in refused["entity"][0]["detail"]


def test_erasure_says_what_was_erased_and_what_was_kept() -> None:
    event = _erasure()
    erased, kept = event["entity"][1], event["entity"][2]
    assert erased["lifecycle"]["code"] == "destroy"
    assert [d["valueString"] for d in erased["detail"]] == ["Patient", "ServiceRequest"]
    assert kept["lifecycle"]["code"] == "pseudonymize"
    assert "hmac" in event["entity"][0]["what"]["identifier"]["value"]


def test_accounting_row_reads_a_disclosure() -> None:
    assert balp.accounting_row(_disclosure()) == {
        "date": RECORDED,
        "recipient": EHR.who,
        "what": DATA,
        "purpose": ["TREAT"],
        "outcome": "0",
    }
    assert balp.accounting_row(_export())["purpose"] == ["PATRQT"]  # type: ignore[index]
    assert balp.accounting_row(_permit()) is None
    assert balp.accounting_row(_received()) is None
