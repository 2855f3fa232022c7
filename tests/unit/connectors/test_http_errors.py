"""Retry-After parsing (RFC 9110 §10.2.3)."""

from __future__ import annotations

import email.utils

import pytest

from connectors.http_errors import parse_retry_after

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        (email.utils.formatdate(NOW + 90, usegmt=True), 90.0),
        (email.utils.formatdate(NOW - 90, usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("next tuesday", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected
