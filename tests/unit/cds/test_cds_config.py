"""``cds_clients:`` is checked at start like the rest of the YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from cds_client import es384_key

from gateway.bootstrap import DEFAULT_CONFIG
from gateway.cds.hook_request import FeedbackItem
from gateway.config import ConfigError, parse_config

KEY = es384_key("ehr-1")
PUBLIC = KEY.as_dict(private=False)


def _with(cds_clients: list[dict[str, Any]]) -> Any:
    data = yaml.safe_load(Path(DEFAULT_CONFIG).read_text())
    data["cds_clients"] = cds_clients
    return parse_config(data, source="gateway.yaml")


def test_inline_keys_a_jku_and_a_single_jwk_are_accepted() -> None:
    config = _with(
        [
            {"iss": "https://a.example", "jwks": {"keys": [PUBLIC]}, "name": "A"},
            {"iss": "https://b.example", "jku": "https://b.example/jwks"},
            {"iss": "https://c.example", "jwks": PUBLIC, "origins": ["https://c.example"]},
        ]
    )
    assert [c.label for c in config.cds_clients] == ["A", "https://b.example", "https://c.example"]
    assert config.cds_clients[2].jwks == {"keys": [PUBLIC]}


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"iss": "https://a.example"}, "exactly one of 'jwks' or 'jku'"),
        (
            {"iss": "https://a.example", "jwks": {"keys": [PUBLIC]}, "jku": "https://a/j"},
            "exactly one",
        ),
        ({"iss": "https://a.example", "jwks": {"keys": [KEY.as_dict(private=True)]}}, "public"),
        ({"iss": "https://a.example", "jku": "file:///etc/jwks"}, "http(s) URL"),
        ({"iss": "", "jku": "https://a/j"}, "cds_clients.0.iss"),
        ({"iss": "https://a.example", "jku": "https://a/j", "origins": ["https://a/x"]}, "origin"),
        ({"iss": "https://a.example", "jku": "https://a/j", "secret": "x"}, "secret"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_key(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _with([entry])
    assert "cds_clients" in str(refused.value)
    assert problem in str(refused.value)


def test_an_issuer_listed_twice_is_refused() -> None:
    entry = {"iss": "https://a.example", "jku": "https://a.example/jwks"}
    with pytest.raises(ConfigError) as refused:
        _with([entry, entry])
    assert "unique: https://a.example" in str(refused.value)


def test_feedback_times_without_an_offset_are_utc() -> None:
    item = FeedbackItem.model_validate(
        {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-27T12:00:00"}
    )
    assert item.outcomeTimestamp is not None
    assert item.outcomeTimestamp.utcoffset() is not None
    assert item.outcomeTimestamp.isoformat() == "2026-11-27T12:00:00+00:00"
