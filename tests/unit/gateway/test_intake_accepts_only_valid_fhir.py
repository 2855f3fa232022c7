"""Whatever intake accepts maps to a Bundle the worker's R4B check and the official R4 JSON
schema accept, for every recipient category (CONTRACT.md v1.1: "Anything intake accepts,
every destination's delivery accepts").

The strategies mix well-formed values with hostile ones (any Unicode, partial and
impossible dates, date-times without zones): intake must refuse the hostile ones, and
whatever it lets through must still be valid FHIR R4.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from fhir_schema import problems
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from consent.fhir_consent import consent_from_submission
from consent.minimise import minimise
from gateway.errors import GatewayError
from gateway.intake.validate import check_semantics, parse_submission
from mappings.instruments import get_instrument, instrument_codes
from mappings.signals import vocabulary
from mappings.triage_to_fhir import MappingContext, map_triage
from mappings.validation import validate_bundle, validate_resource

TODAY = date(2026, 12, 1)
CATEGORIES = ["ehr", "crisis", "community"]

CLEAN = st.text("abcdefghijklmnopqrstuvwxyzÁéñ Ø'-.", min_size=1, max_size=20)
HOSTILE_CHARS = st.sampled_from(
    ["\x00", "\x1b", "\x7f", "\t", "\n", "\r", "\u00a0", "\u2028", "\u202e", "\u2066",
     "\u200b", "\ufeff", "e\u0301", " "]
)  # fmt: skip
HOSTILE = st.lists(st.one_of(HOSTILE_CHARS, CLEAN), min_size=1, max_size=5).map("".join)
TEXT = st.one_of(CLEAN, CLEAN, HOSTILE, st.text(max_size=12))
DIGITS = st.integers(0, 9999)
DATES = st.one_of(
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY).map(str),
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(1, 2999),
              st.integers(0, 13), st.integers(0, 32)),
    st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(1900, 2025), st.integers(0, 13)),
    st.text(max_size=12),
)  # fmt: skip
INSTANTS = st.one_of(
    st.just("2026-11-27T10:04:00Z"),
    st.just("2026-11-27T10:04:00.123+05:30"),
    st.builds(lambda d, h, z: f"{d}T{h:02d}:00:00{z}", DATES, st.integers(0, 25),
              st.sampled_from(["Z", "", "+14:00", "+15:00", "-03:30", "z"])),
    st.integers(0, 2_000_000_000),
)  # fmt: skip

GOOD_INSTANT = st.sampled_from(["2026-11-27T10:04:00Z", "2026-11-27T10:04:00.123+05:30"])
GOOD_DATE = st.dates(min_value=date(1900, 1, 1), max_value=TODAY).map(str)
GIVEN, CLEAN_GIVEN = st.lists(TEXT, max_size=2), st.lists(CLEAN, max_size=2)
SIGNALS = st.lists(st.sampled_from([*vocabulary(), "typo-signal"]), max_size=2)
KNOWN_SIGNALS = st.lists(st.sampled_from(list(vocabulary())), max_size=2)


def schema_problems(bundle: dict[str, Any]) -> list[str]:
    """Each resource against its own definition, and the Bundle shell (quicker than letting
    the schema try every resource type on each entry)."""
    entries = bundle["entry"]
    shell = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]}
    return [
        p for resource in [shell, *(e["resource"] for e in entries)] for p in problems(resource)
    ]


def _answers(code: str) -> st.SearchStrategy[list[object]]:
    instrument = get_instrument(code)
    one: st.SearchStrategy[object] = (
        st.sampled_from([True, False, None])
        if instrument.answer_kind == "yes-no-unasked"
        else st.integers(0, 3)
    )
    return st.lists(one, min_size=len(instrument.items), max_size=len(instrument.items))


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    """Half the bodies are well-formed except for at most one hostile field, half are
    hostile throughout."""
    rough = draw(st.booleans())
    hostile_field = draw(st.integers(0, 20))
    fields = iter(range(100))

    def pick(hostile: st.SearchStrategy[Any], clean: st.SearchStrategy[Any]) -> Any:
        return draw(hostile if rough or next(fields) == hostile_field else clean)

    code = draw(st.sampled_from(instrument_codes()))
    assessment: dict[str, Any] = {"instrument": code, "answers": draw(_answers(code))}
    if draw(st.booleans()):
        assessment["completed_at"] = pick(INSTANTS, GOOD_INSTANT)
    return {
        "triage_id": pick(TEXT, CLEAN),
        "submitted_at": pick(INSTANTS, GOOD_INSTANT),
        "patient": {
            "identifiers": [
                {"system": pick(TEXT, st.just("https://app.example.org/p")),
                 "value": pick(TEXT, CLEAN)}
            ],
            "name": {"given": pick(GIVEN, CLEAN_GIVEN), "family": pick(TEXT, CLEAN)},
            "birth_date": pick(DATES, GOOD_DATE),
            "telecom": [{"system": "phone", "value": pick(TEXT, CLEAN)}],
            "address": {"postal_code": pick(TEXT, CLEAN), "state": pick(TEXT, CLEAN)},
        },
        "assessments": draw(st.lists(st.just(assessment), max_size=1)),
        "risk": {
            "level": draw(st.sampled_from(["none", "low", "moderate", "high", "imminent"])),
            "rationale": pick(TEXT, CLEAN),
            "signals": pick(SIGNALS, KNOWN_SIGNALS),
        },
        "model": {"name": pick(TEXT, CLEAN), "version": pick(TEXT, CLEAN)},
        "request": {"pathway": "clinical", "urgency": "urgent", "note": pick(TEXT, CLEAN)},
        "consent": {
            "share_with": draw(st.lists(st.sampled_from(CATEGORIES), unique=True)),
            "purposes": ["TREAT"],
            "expires": pick(DATES, st.just("2027-11-27")),
            "accepted_text_version": pick(TEXT, CLEAN),
        },
    }  # fmt: skip


def _clean(**patient: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "contract-example.json").read_text("utf-8"))
    body["patient"].update(patient)
    return body


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "triage"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=submissions())
@example(body=_clean())
@example(body=_clean(name={"family": "Ruiz\u00a0Diaz"}))
@example(body=_clean(name={"given": ["An\u2028a"]}))
@example(body=_clean(telecom=[{"system": "phone", "value": "+1\u3000555"}]))
@example(body=_clean(identifiers=[{"system": "https://a.example/my id", "value": "1"}]))
@example(body=_clean(birth_date="1998-02-31"))
@example(body={**_clean(), "consent": {**_clean()["consent"], "accepted_text_version": "v 3"}})
def test_every_accepted_submission_maps_to_valid_fhir_r4_for_every_recipient(
    body: dict[str, Any],
) -> None:
    try:
        submission = parse_submission(json.dumps(body).encode())
        check_semantics(submission, today=TODAY)
    except GatewayError as refused:
        event(f"refused {refused.status_code}")
        return
    event("accepted")
    canonical = submission.model_dump(mode="json", exclude_none=True)
    bundle = map_triage(
        canonical, MappingContext("ref-1", "app-a", received_at="2026-12-01T00:00:00.000Z")
    )
    assert validate_bundle(bundle) == [], body
    assert schema_problems(bundle) == [], body
    if "share_with" in canonical["consent"]:  # the Consent intake records beside the Bundle
        identifier = canonical["patient"]["identifiers"][0]
        consent = consent_from_submission(
            canonical["consent"],
            patient_ref="Patient/p-1",
            patient_identifier=identifier,
            recorded_at="2026-12-01T00:00:00.000Z",
            consent_uuid="7d8a6a52-53c5-4b4e-9c1e-3f2a1b0c9d8e",
            client_id="app-a",
        )
        assert validate_resource(consent) == [], body
        assert problems(consent) == [], body
    for category in CATEGORIES:  # what the worker checks before each first delivery
        assert validate_bundle(minimise(bundle, category, [])) == [], (category, body)


def test_the_strategy_is_not_vacuous() -> None:
    """Both outcomes occur: the property is tested on accepted bodies, not only refusals."""
    outcomes: set[bool] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(body=submissions())
    def collect(body: dict[str, Any]) -> None:
        try:
            check_semantics(parse_submission(json.dumps(body).encode()), today=TODAY)
            outcomes.add(True)
        except GatewayError:
            outcomes.add(False)

    collect()
    assert outcomes == {True, False}
