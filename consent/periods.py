"""FHIR ``date`` / ``dateTime`` values as instants, for deciding whether a period holds.

FHIR R4 datatypes, Period: "the end value includes any matching date/time", so a bare
date (``2027-11-27``) as an end means through the end of that day (taken in UTC), and a
dateTime end includes that whole second.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any


def as_aware(moment: datetime) -> datetime:
    """``moment`` with a timezone; a naive value is taken to be UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def period_start(value: str) -> datetime:
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    return as_aware(datetime.fromisoformat(value))


def period_end(value: str) -> datetime:
    """The first instant *after* the period (exclusive bound)."""
    if len(value) == 10:
        next_day = date.fromisoformat(value) + timedelta(days=1)
        return datetime.combine(next_day, time.min, tzinfo=UTC)
    end = as_aware(datetime.fromisoformat(value))
    return end + (timedelta(seconds=1) if end.microsecond == 0 else timedelta(microseconds=1))


def within(period: dict[str, Any] | None, now: datetime) -> bool:
    """Whether ``now`` falls inside the FHIR ``Period`` (an absent bound is open)."""
    if not period:
        return True
    moment = as_aware(now)
    start = period.get("start")
    end = period.get("end")
    if start is not None and moment < period_start(start):
        return False
    return not (end is not None and moment >= period_end(end))


def is_valid_date_or_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        period_start(value)
    except ValueError:
        return False
    return True
