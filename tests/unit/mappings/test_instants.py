"""FHIR instants come from one formatter, and no module formats one by hand."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.context import fhir_instant as gateway_instant
from mappings.instants import fhir_instant

ROOT = Path(__file__).resolve().parents[3]
FHIR_INSTANT = re.compile(
    r"^([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$"
)  # the R4 instant regex (http://hl7.org/fhir/R4/datatypes.html#instant)
HAND_MADE = re.compile(r"isoformat\([^)]*\)\s*\.replace\(|strftime\(")
NOT_YET: set[str] = set()  # every module now goes through the formatter


@pytest.mark.parametrize(
    ("moment", "precision", "expected"),
    [
        (datetime(2026, 11, 27, 10, 5, tzinfo=UTC), "milliseconds", "2026-11-27T10:05:00.000Z"),
        (datetime(2026, 11, 27, 10, 5, tzinfo=UTC), "auto", "2026-11-27T10:05:00Z"),
        (
            datetime(2026, 11, 27, 10, 5, 1, 123456, tzinfo=UTC),
            "milliseconds",
            "2026-11-27T10:05:01.123Z",
        ),
        (
            datetime(2026, 11, 27, 10, 5, 1, 123456, tzinfo=UTC),
            "auto",
            "2026-11-27T10:05:01.123456Z",
        ),
        (
            datetime(2026, 11, 27, 12, 5, tzinfo=timezone(timedelta(hours=2))),
            "auto",
            "2026-11-27T10:05:00Z",
        ),
    ],
)
def test_instants_are_utc_with_a_z(moment: datetime, precision: str, expected: str) -> None:
    text = fhir_instant(moment, precision)  # type: ignore[arg-type]
    assert text == expected
    assert FHIR_INSTANT.match(text)
    assert datetime.fromisoformat(text.replace("Z", "+00:00")) == moment.replace(
        microsecond=moment.microsecond // 1000 * 1000
        if precision == "milliseconds"
        else moment.microsecond
    )


def test_the_gateway_uses_the_same_formatter() -> None:
    assert gateway_instant is fhir_instant


def test_no_module_formats_an_instant_by_hand() -> None:
    offenders = sorted(
        str(path.relative_to(ROOT))
        for package in ("gateway", "connectors", "consent", "mappings")
        for path in (ROOT / package).rglob("*.py")
        if HAND_MADE.search(path.read_text("utf-8")) and str(path.relative_to(ROOT)) not in NOT_YET
    )
    assert offenders == []
