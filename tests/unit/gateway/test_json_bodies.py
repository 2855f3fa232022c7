"""The body rules of ``gateway.api.bodies``, as pure functions."""

from __future__ import annotations

import pytest

from gateway.api.bodies import duplicate_key, is_json_media_type


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"a": 1, "a": 2}', "a"),
        (b'{"risk": {"level": "none", "level": "imminent"}}', "risk.level"),
        (b'{"assessments": [{"instrument": "phq-9"}, {"total": 1, "total": 2}]}',
         "assessments[1].total"),
        (b'{"x": [[{"c": 1, "c": 2}]]}', "x[0][0].c"),
        (b'{"a": {"b": 1}, "c": {"d": 1, "d": 1}}', "c.d"),
        (b'{"a": 1, "b": {"a": 1}}', None),
        (b'{"a": [1, 1], "b": "a"}', None),
        (b"not json", None),
    ],
)  # fmt: skip
def test_a_repeated_key_is_found_with_its_path(body: bytes, where: str | None) -> None:
    assert duplicate_key(body) == where


@pytest.mark.parametrize(
    ("content_type", "json"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/fhir+json", True),
        ("application/json-patch+json", True),
        ("text/json", False),
        ("application/x-www-form-urlencoded", False),
        ("application/jsonp", False),
        ("", False),
        (None, False),
    ],
)
def test_json_media_types(content_type: str | None, json: bool) -> None:
    assert is_json_media_type(content_type) is json
