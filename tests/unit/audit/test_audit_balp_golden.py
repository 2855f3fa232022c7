"""Every BALP builder's AuditEvent, held byte for byte against a golden file.

To regenerate after an intended change, run
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/audit/test_audit_balp_golden.py
and review the diff of tests/unit/audit/balp_golden.json by eye before committing it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.audit import balp
from gateway.audit.balp import Party
from mappings.fhir_models import model_class

GOLDEN = Path(__file__).with_name("balp_golden.json")
RECORDED = "2026-11-27T10:05:00.123Z"
GATEWAY = Party({"display": "referral-gateway"}, "https://gateway.example.org")
EHR = Party({"reference": "Organization/st-mary", "display": "st-mary"}, "10.0.0.7")
APP = Party({"identifier": {"system": "urn:referral-gateway:client-id", "value": "app"}}, "host")
PATIENT = {"reference": "Patient/p1"}
REFERRAL = {"identifier": {"system": "urn:referral-gateway:referral", "value": "r1"}}
COMMON: dict[str, Any] = {"recorded": RECORDED, "gateway": GATEWAY}

EVENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "disclosure": lambda: balp.disclosure(
        **COMMON, recipient=EHR, patient=PATIENT, purpose="TREAT", data=[REFERRAL]
    ),
    "disclosure-failed": lambda: balp.disclosure(
        **COMMON,
        recipient=EHR,
        patient=PATIENT,
        purpose="TREAT",
        data=[],
        outcome=balp.MINOR_FAILURE,
        outcome_desc="refused",
    ),
    "emergency-disclosure": lambda: balp.emergency_disclosure(
        **COMMON,
        recipient=EHR,
        recipient_name="desk",
        recipient_affiliation="county",
        disclosed_by="gateway",
        nature_of_emergency="imminent risk",
        patient=PATIENT,
        data=[REFERRAL],
    ),
    "import": lambda: balp.submission_received(
        **COMMON, submitter=APP, patient=PATIENT, data=[REFERRAL]
    ),
    "consent-permit": lambda: balp.consent_decision(
        **COMMON,
        client=APP,
        recipient=EHR,
        patient=PATIENT,
        consent={"reference": "Consent/c1"},
        permit=True,
        reason="allowed",
        purpose="TREAT",
        token_jti="jti-1",
    ),
    "consent-deny": lambda: balp.consent_decision(
        **COMMON,
        client=APP,
        recipient=EHR,
        patient=PATIENT,
        consent=None,
        permit=False,
        reason="no consent",
        purpose="TREAT",
    ),
    "token-issued": lambda: balp.token_issued(
        **COMMON, client=APP, jti="abc", scope="system/Task.rs", expires_in=300
    ),
    "token-refused": lambda: balp.token_refused(
        **COMMON,
        client=APP,
        error="invalid_client",
        description="unknown key",
        requested_scope="system/Task.rs",
    ),
    "token-refused-no-scope": lambda: balp.token_refused(
        **COMMON, client=APP, error="invalid_grant", description="expired"
    ),
    "patient-export": lambda: balp.patient_export(
        **COMMON, requester=APP, patient=PATIENT, resource_count=12
    ),
    "patient-erasure": lambda: balp.patient_erasure(
        **COMMON,
        requester=APP,
        pseudonymised_patient={"identifier": {"value": "hmac:ab"}},
        erased=["Patient"],
        kept=["AuditEvent"],
    ),
    "consent-created": lambda: balp.consent_recorded(
        **COMMON, client=APP, patient=PATIENT, consent={"reference": "Consent/c1"}, action="C"
    ),
    "consent-withdrawn": lambda: balp.consent_recorded(
        **COMMON,
        client=APP,
        patient=PATIENT,
        consent={"reference": "Consent/c1"},
        action="U",
        revoked=True,
    ),
    "crisis-acknowledged": lambda: balp.crisis_acknowledged(
        **COMMON,
        client=APP,
        person="Dr Who",
        crisis_service=EHR,
        patient=PATIENT,
        referral=REFERRAL,
    ),
    "crisis-escalated": lambda: balp.crisis_escalated(
        **COMMON,
        contact=EHR,
        patient=PATIENT,
        referral=REFERRAL,
        step=1,
        reason="no ack",
        succeeded=True,
        outcome_desc="paged",
    ),
    "crisis-alerted": lambda: balp.crisis_escalated(
        **COMMON,
        contact=None,
        patient=PATIENT,
        referral=REFERRAL,
        step=2,
        reason="no ack",
        succeeded=False,
        outcome_desc="webhook failed",
    ),
    "emergency-disclosure-reviewed": lambda: balp.emergency_disclosure_reviewed(
        **COMMON, client=APP, person="Ops", patient=PATIENT, audit_entry={"reference": "x/1"}
    ),
    "emergency-disclosure-reviewed-no-patient": lambda: balp.emergency_disclosure_reviewed(
        **COMMON, client=APP, person="Ops", patient=None, audit_entry={"reference": "x/1"}
    ),
    "operator-action": lambda: balp.operator_action(
        **COMMON, operator=APP, description="replayed", what=REFERRAL, patient=PATIENT
    ),
    "operator-action-no-patient": lambda: balp.operator_action(
        **COMMON, operator=APP, description="replayed", what=REFERRAL
    ),
}


def _all() -> dict[str, dict[str, Any]]:
    return {name: build() for name, build in EVENTS.items()}


def test_every_audit_event_is_what_it_was() -> None:
    events = _all()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(events, indent=1, ensure_ascii=False) + "\n", "utf-8")
    assert json.dumps(events, indent=1, ensure_ascii=False) + "\n" == GOLDEN.read_text("utf-8")


@pytest.mark.parametrize("name", list(EVENTS))
def test_every_audit_event_is_a_valid_r4_audit_event(name: str) -> None:
    model_class("AuditEvent").model_validate(EVENTS[name]())
