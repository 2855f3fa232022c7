"""FHIR Period bounds as instants (FHIR R4 datatypes, Period: the end includes any matching
date/time): a bare date runs to the end of its day, a dateTime end includes its second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from consent.periods import as_aware, is_valid_date_or_datetime, period_end, period_start, within


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_naive_moment_is_taken_as_utc_and_an_aware_one_is_kept() -> None:
    assert as_aware(datetime(2026, 11, 27, 12, 0)) == utc(2026, 11, 27, 12, 0)
    plus_two = datetime(2026, 11, 27, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert as_aware(plus_two) is plus_two


@pytest.mark.parametrize(
    ("value", "start"),
    [
        ("2026-11-27", utc(2026, 11, 27)),
        ("2026-11-27T10:30:00Z", utc(2026, 11, 27, 10, 30)),
        ("2026-11-27T10:30:00+02:00", utc(2026, 11, 27, 8, 30)),
        ("2026-11-27T10:30:00", utc(2026, 11, 27, 10, 30)),
    ],
)
def test_a_start_is_its_first_instant(value: str, start: datetime) -> None:
    assert period_start(value) == start


@pytest.mark.parametrize(
    ("value", "end"),
    [
        ("2026-11-27", utc(2026, 11, 28)),
        ("2026-12-31", utc(2027, 1, 1)),
        ("2026-11-27T10:30:00Z", utc(2026, 11, 27, 10, 30, 1)),
        ("2026-11-27T10:30:00.500000Z", datetime(2026, 11, 27, 10, 30, 0, 500001, tzinfo=UTC)),
        ("2026-11-27T10:30:00", utc(2026, 11, 27, 10, 30, 1)),
    ],
)
def test_an_end_is_the_first_instant_after_it(value: str, end: datetime) -> None:
    assert period_end(value) == end


NOW = utc(2026, 11, 27, 12, 0)


@pytest.mark.parametrize(
    ("period", "inside"),
    [
        (None, True),
        ({}, True),
        ({"start": "2026-11-27T12:00:00Z"}, True),
        ({"start": "2026-11-27T12:00:01Z"}, False),
        ({"start": "2026-11-28"}, False),
        ({"start": "2026-11-27"}, True),
        ({"end": "2026-11-27T11:59:59Z"}, False),
        ({"end": "2026-11-27T12:00:00Z"}, True),
        ({"end": "2026-11-26"}, False),
        ({"end": "2026-11-27"}, True),
        ({"start": "2026-11-01", "end": "2026-11-30"}, True),
        ({"start": "2026-11-28", "end": "2026-11-30"}, False),
        ({"start": "2026-11-01", "end": "2026-11-26"}, False),
    ],
)
def test_now_within_a_period(period: dict[str, str] | None, inside: bool) -> None:
    assert within(period, NOW) is inside
    assert within(period, NOW.replace(tzinfo=None)) is inside


def test_an_instant_just_past_a_seconds_end_is_outside() -> None:
    assert within({"end": "2026-11-27T12:00:00Z"}, NOW + timedelta(microseconds=999_999))
    assert not within({"end": "2026-11-27T12:00:00Z"}, NOW + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-11-27", True),
        ("2026-11-27T10:30:00Z", True),
        ("2026-02-30", False),
        ("tomorrow", False),
        ("", False),
        (20261127, False),
        (None, False),
    ],
)
def test_which_values_are_dates_or_datetimes(value: object, valid: bool) -> None:
    assert is_valid_date_or_datetime(value) is valid
