"""Both validators catch broken resources, so a passing Bundle means something."""

from __future__ import annotations

import copy
import json
from typing import Any

from bundle_checks import FIXTURES, context_for, schema_problems, whole_bundle_schema_problems

from mappings.fhir_models import model_class
from mappings.triage_to_fhir import map_triage
from mappings.validation import validate_bundle


def _bundle() -> dict[str, Any]:
    triage = json.loads((FIXTURES / "triage" / "contract-example.json").read_text("utf-8"))
    return map_triage(triage, context_for("contract-example"))


def _broken(change: str) -> dict[str, Any]:
    bundle = copy.deepcopy(_bundle())
    resources = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    if change == "unknown-field":
        resources["ServiceRequest"]["urgency"] = "urgent"
    elif change == "bad-status":
        resources["Task"]["status"] = "sent"
    elif change == "bad-date":
        resources["Patient"]["birthDate"] = "02/04/1990"
    return bundle


def test_valid_bundle() -> None:
    assert validate_bundle(_bundle()) == []


def test_models_catch_unknown_fields_and_bad_values() -> None:
    assert any("ServiceRequest" in p for p in validate_bundle(_broken("unknown-field")))
    assert any("Patient" in p for p in validate_bundle(_broken("bad-date")))


def test_models_do_not_check_required_code_bindings() -> None:
    """Why both validators run: the R4B models accept a Task.status outside its value set."""
    assert validate_bundle(_broken("bad-status")) == []
    assert any("sent" in p for p in schema_problems(_broken("bad-status")))


def test_models_catch_a_broken_bundle_shell() -> None:
    bundle = _bundle()
    del bundle["type"]
    assert validate_bundle(bundle)[0].startswith("Bundle:")
    assert validate_bundle({"resourceType": "Bundle", "type": "transaction", "entry": [{}]})


def test_schema_catches_the_same() -> None:
    for change in ("unknown-field", "bad-status", "bad-date"):
        assert schema_problems(_broken(change)), change
    assert whole_bundle_schema_problems(_broken("bad-status"))


def test_model_class_for_unknown_type() -> None:
    assert model_class("Task").__name__ == "Task"
    try:
        model_class("NotAResource")
    except KeyError:
        pass
    else:
        raise AssertionError("expected KeyError")
