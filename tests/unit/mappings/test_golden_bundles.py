"""Golden files: each tests/fixtures/triage/<name>.json maps to tests/fixtures/bundles/<name>.json.

To regenerate after an intended change, run
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/mappings/test_golden_bundles.py
and review the diff of tests/fixtures/bundles/ by eye before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from bundle_checks import (
    FIXTURES,
    context_for,
    layout_problems,
    schema_problems,
    whole_bundle_schema_problems,
)

from mappings.triage_to_fhir import map_triage
from mappings.validation import validate_bundle

TRIAGE = sorted((FIXTURES / "triage").glob("*.json"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _mapped(triage_path: Path) -> dict[str, object]:
    triage = json.loads(triage_path.read_text("utf-8"))
    return map_triage(triage, context_for(triage_path.stem))


def test_there_are_enough_fixtures() -> None:
    assert len(TRIAGE) >= 5


@pytest.mark.parametrize("triage_path", TRIAGE, ids=lambda path: path.stem)
def test_bundle_matches_golden_file(triage_path: Path) -> None:
    golden_path = FIXTURES / "bundles" / triage_path.name
    bundle = _mapped(triage_path)
    if UPDATE:
        golden_path.write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert golden_path.exists(), f"no golden file for {triage_path.name}; run with UPDATE_GOLDEN=1"
    assert bundle == json.loads(golden_path.read_text("utf-8"))


@pytest.mark.parametrize("triage_path", TRIAGE, ids=lambda path: path.stem)
def test_bundle_validates_against_r4b_models(triage_path: Path) -> None:
    assert validate_bundle(_mapped(triage_path)) == []


@pytest.mark.parametrize("triage_path", TRIAGE, ids=lambda path: path.stem)
def test_bundle_validates_against_official_r4_json_schema(triage_path: Path) -> None:
    bundle = _mapped(triage_path)
    assert schema_problems(bundle) == []
    assert whole_bundle_schema_problems(bundle) == []


@pytest.mark.parametrize("triage_path", TRIAGE, ids=lambda path: path.stem)
def test_bundle_layout_and_references(triage_path: Path) -> None:
    assert layout_problems(_mapped(triage_path)) == []


def test_mapping_is_deterministic_and_shares_no_mutable_state() -> None:
    first = _mapped(TRIAGE[0])
    expected = json.loads(json.dumps(first))
    for entry in first["entry"]:  # type: ignore[attr-defined]
        for value in entry["resource"].values():
            if isinstance(value, list | dict):
                value.clear()
    assert _mapped(TRIAGE[0]) == expected
