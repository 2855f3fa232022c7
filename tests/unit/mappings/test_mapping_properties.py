"""Property tests: any valid triage result maps to a valid, self-contained Bundle."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

from bundle_checks import context_for, layout_problems, resources_of, schema_problems
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.instruments import get_instrument, instrument_codes
from mappings.triage_to_fhir import map_triage
from mappings.validation import validate_bundle

TEXT = (
    st.text(string.ascii_letters + string.digits + " .,'-?!", min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)
INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat().replace("+00:00", "Z"))


def _answers(code: str) -> st.SearchStrategy[list[object]]:
    instrument = get_instrument(code)
    if instrument.answer_kind == "yes-no-unasked":
        one: st.SearchStrategy[object] = st.sampled_from([True, False, None])
    else:
        one = st.integers(0, 3)
    size = len(instrument.items)
    return st.lists(one, min_size=size, max_size=size)


@st.composite
def assessments(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.sampled_from(instrument_codes()))
    assessment: dict[str, Any] = {"instrument": code, "answers": draw(_answers(code))}
    if draw(st.booleans()):
        assessment["completed_at"] = draw(INSTANTS)
    return assessment


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    identifier = st.fixed_dictionaries(
        {
            "system": st.sampled_from(
                ["https://app.example.org/patients", "http://hl7.org/fhir/sid/us-ssn"]
            ),
            "value": TEXT,
        }
    )
    patient: dict[str, Any] = {"identifiers": draw(st.lists(identifier, min_size=1, max_size=3))}
    optional = {
        "name": st.fixed_dictionaries(
            {"given": st.lists(TEXT, max_size=2)}, optional={"family": TEXT}
        ),
        "birth_date": st.dates(min_value=datetime(1900, 1, 1).date()).map(str),
        "gender": st.sampled_from(["male", "female", "other", "unknown"]),
        "telecom": st.lists(
            st.fixed_dictionaries(
                {"system": st.sampled_from(["phone", "email", "sms"]), "value": TEXT}
            ),
            max_size=2,
        ),
        "address": st.fixed_dictionaries(
            {}, optional={"postal_code": TEXT, "state": TEXT, "country": TEXT}
        ),
        "preferred_language": st.sampled_from(["en", "es", "zh-Hant", "vi"]),
    }
    for field, strategy in optional.items():
        if draw(st.booleans()):
            patient[field] = draw(strategy)
    return patient


@st.composite
def triage_results(draw: st.DrawFn) -> dict[str, Any]:
    request: dict[str, Any] = {
        "pathway": draw(st.sampled_from(["crisis", "clinical", "community", "self-care"])),
        "urgency": draw(st.sampled_from(["routine", "urgent", "asap", "stat"])),
    }
    if draw(st.booleans()):
        request["note"] = draw(TEXT)
    return {
        "triage_id": draw(TEXT),
        "submitted_at": draw(INSTANTS),
        "patient": draw(patients()),
        "assessments": draw(st.lists(assessments(), min_size=1, max_size=4)),
        "risk": {
            "level": draw(st.sampled_from(["none", "low", "moderate", "high", "imminent"])),
            "confidence": draw(st.floats(0, 1)),
            "rationale": draw(TEXT),
            "signals": [],
        },
        "model": {"name": draw(TEXT), "version": draw(TEXT)},
        "request": request,
        "consent": {"consent_ref": "Consent/1"},
    }


@settings(max_examples=60, deadline=None)
@given(triage=triage_results(), name=TEXT)
def test_any_triage_maps_to_a_valid_self_contained_bundle(
    triage: dict[str, Any], name: str
) -> None:
    bundle = map_triage(triage, context_for(name))
    assert validate_bundle(bundle) == []
    assert schema_problems(bundle) == []
    assert layout_problems(bundle) == []


@settings(max_examples=60, deadline=None)
@given(triage=triage_results())
def test_totals_are_the_sum_of_the_answers(triage: dict[str, Any]) -> None:
    bundle = map_triage(triage, context_for("totals"))
    totals = [
        obs["valueInteger"] for obs in resources_of(bundle, "Observation") if "valueInteger" in obs
    ]
    expected = [
        sum(a["answers"])
        for a in triage["assessments"]
        if get_instrument(a["instrument"]).total_loinc
    ]
    assert totals == expected
