"""The search parameter table and parser (R4 search.html), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.errors import MalformedRequest
from gateway.fhir_search import (
    MAX_COUNT,
    SEARCH_PARAMS,
    date_range,
    parse_search,
    strict_requested,
)

T = datetime(2026, 12, 1, 10, 30, 15, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("2026", datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026-02", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)),
        (
            "2026-12-01T10:30Z",
            datetime(2026, 12, 1, 10, 30, tzinfo=UTC),
            datetime(2026, 12, 1, 10, 31, tzinfo=UTC),
        ),
        (
            "2026-12-01T10:30:15Z",
            datetime(2026, 12, 1, 10, 30, 15, tzinfo=UTC),
            datetime(2026, 12, 1, 10, 30, 16, tzinfo=UTC),
        ),
        (
            "2026-12-01T10:30:15.5Z",
            datetime(2026, 12, 1, 10, 30, 15, 500000, tzinfo=UTC),
            datetime(2026, 12, 1, 10, 30, 15, 600000, tzinfo=UTC),
        ),
        (
            "2026-12-01T12:30:15+02:00",
            datetime(2026, 12, 1, 10, 30, 15, tzinfo=UTC),
            datetime(2026, 12, 1, 10, 30, 16, tzinfo=UTC),
        ),
    ],
)
def test_a_search_date_stands_for_the_range_of_its_precision(
    value: str, low: datetime, high: datetime
) -> None:
    found = date_range("_lastUpdated", value)
    assert (found.prefix, found.low, found.high) == ("eq", low, high)


@pytest.mark.parametrize(
    ("prefix", "before", "inside", "after"),
    [
        ("eq", False, True, False),
        ("ne", True, False, True),
        ("lt", True, False, False),
        ("eb", True, False, False),
        ("le", True, True, False),
        ("gt", False, False, True),
        ("sa", False, False, True),
        ("ge", False, True, True),
    ],
)
def test_each_prefix_compares_a_point_with_the_range(
    prefix: str, before: bool, inside: bool, after: bool
) -> None:
    day = date_range("_lastUpdated", f"{prefix}2026-12-01")
    moments = (
        datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),
        T,
        datetime(2026, 12, 2, tzinfo=UTC),
    )
    assert [day.admits(m) for m in moments] == [before, inside, after]


def test_gt_the_exact_last_updated_excludes_that_resource_and_includes_a_later_one() -> None:
    seen = date_range("_lastUpdated", "gt2026-12-01T10:30:15.500Z")
    assert not seen.admits(T)
    assert seen.admits(T + timedelta(milliseconds=1))


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "yesterday", "2026-12-01T25:00Z"])
def test_a_malformed_date_is_a_400_naming_the_parameter(value: str) -> None:
    with pytest.raises(MalformedRequest) as caught:
        parse_search("Task", [("_lastUpdated", value)])
    assert caught.value.issues[0].expression == "_lastUpdated"


def test_unknown_parameter_is_ignored_and_left_out_unless_strict() -> None:
    params = [("status", "requested"), ("name", "Ana"), ("status:not", "done")]
    parsed = parse_search("Task", params)
    assert parsed.applied == [("status", "requested")]
    assert parsed.ignored == ["name", "status:not"]
    for bad in (("name", "Ana"), ("status:not", "done"), ("_include", "Task:owner"),
                ("_summary", "true"), ("_sort", "name"), ("_lastUpdated", "ap2026")):
        with pytest.raises(MalformedRequest) as caught:
            parse_search("Task", [bad], strict=True)
        assert caught.value.status_code == 400
        assert caught.value.issues[0].expression == bad[0]


def test_a_parameter_of_another_type_is_unsupported_here() -> None:
    assert parse_search("Patient", [("status", "active")]).ignored == ["status"]
    with pytest.raises(MalformedRequest):
        parse_search("Patient", [("patient", "p-1")], strict=True)


def test_every_listed_parameter_is_accepted_strictly() -> None:
    sample = {"_id": "x", "_lastUpdated": "ge2026-01-01", "identifier": "s|v",
              "patient": "Patient/p", "status": "active", "owner": "Organization/inbox"}
    for rtype, names in SEARCH_PARAMS.items():
        parsed = parse_search(rtype, [(n, sample[n]) for n in names], strict=True)
        assert [name for name, _ in parsed.applied] == list(names)


def test_result_parameters() -> None:
    parsed = parse_search(
        "Task",
        [("_count", "5000"), ("_sort", "-_lastUpdated"), ("_summary", "count"),
         ("_include", "Task:focus"), ("_include", "Task:patient"), ("_format", "json")],
        strict=True,
    )
    c = parsed.criteria
    assert c.count == MAX_COUNT and ("_count", str(MAX_COUNT)) in parsed.applied
    assert c.sort == (("_lastUpdated", True), ("_id", False))
    assert c.summary_count and c.includes == ("Task:focus", "Task:patient")
    assert "_format" not in [name for name, _ in parsed.applied]


def test_an_include_may_name_its_target_type() -> None:
    typed = parse_search("Task", [("_include", "Task:focus:ServiceRequest")], strict=True)
    assert typed.criteria.includes == ("Task:focus",)
    with pytest.raises(MalformedRequest):
        parse_search("Task", [("_include", "Task:focus:Patient")], strict=True)


def test_reference_values_in_every_form_name_the_same_id() -> None:
    for value in ("Organization/inbox", "inbox", "http://gw.example/fhir/Organization/inbox"):
        assert parse_search("Task", [("owner", value)]).criteria.owners == ("Organization/inbox",)
    typed = parse_search("Task", [("patient:Patient", "p-1")], strict=True)
    assert typed.criteria.patient_ids == ("p-1",)


def test_repeated_parameters_all_hold() -> None:
    c = parse_search("Task", [("status", "a,b"), ("status", "b,c")]).criteria
    assert c.statuses == (frozenset({"a", "b"}), frozenset({"b", "c"}))


@pytest.mark.parametrize(
    ("header", "strict"),
    [("handling=strict", True), ("return=minimal, handling=strict", True),
     ("handling=lenient", False), (None, False), ("HANDLING = strict", True)],
)
def test_prefer_handling_strict(header: str | None, strict: bool) -> None:
    assert strict_requested(header) is strict
