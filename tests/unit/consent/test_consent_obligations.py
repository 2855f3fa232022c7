"""Obligations as stored and audited with a consent decision: each says its kind, the HL7 v3
security obligation code it realises (REDACT, LABEL, PRIVMARK) and what it applies to."""

from __future__ import annotations

from consent.obligations import (
    AddLabels,
    AttachRedisclosureNotice,
    RedactLabelled,
    WithholdResources,
)
from consent.vocab import ACT_CODE, CONFIDENTIALITY, REDISCLOSURE_NOTICE, Label


def test_redacting_labelled_entries() -> None:
    assert RedactLabelled(("42CFRPart2", "ETH")).to_dict() == {
        "kind": "redact-labelled",
        "code": "REDACT",
        "labels": ["42CFRPart2", "ETH"],
    }


def test_withholding_resource_types() -> None:
    assert WithholdResources(("Observation", "RiskAssessment")).to_dict() == {
        "kind": "withhold-resources",
        "code": "REDACT",
        "resource_types": ["Observation", "RiskAssessment"],
    }


def test_adding_labels() -> None:
    labels = (Label(CONFIDENTIALITY, "R", "restricted"), Label(ACT_CODE, "PSY"))
    assert AddLabels(labels).to_dict() == {
        "kind": "add-labels",
        "code": "LABEL",
        "labels": [
            {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"},
            {"system": ACT_CODE, "code": "PSY"},
        ],
    }


def test_attaching_the_redisclosure_notice() -> None:
    assert AttachRedisclosureNotice(("ETH",)).to_dict() == {
        "kind": "attach-redisclosure-notice",
        "code": "PRIVMARK",
        "labels": ["ETH"],
        "regulation": "42 CFR 2.32",
        "text": REDISCLOSURE_NOTICE,
    }


def test_stored_obligations_are_plain_lists_not_tuples() -> None:
    for obligation in (RedactLabelled(("ETH",)), WithholdResources(("Task",))):
        values = obligation.to_dict()
        assert all(not isinstance(value, tuple) for value in values.values())
