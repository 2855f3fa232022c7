"""Destination types as a registry: every entry builds its connector, and lanes, stalls,
consent categories and status sync are read from it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from connectors.base import Connector
from connectors.community import CommunityConnector
from connectors.crisis import CrisisConnector
from connectors.ehr_tasks import EhrTaskReader
from connectors.fhir import FhirConnector
from connectors.inbox import InboxConnector
from consent.vocab import RECIPIENT_CATEGORIES
from gateway.config import AnyDestination, Destination, parse_config
from gateway.destinations.factories import (
    ConnectorKit,
    build_connector,
    build_task_readers,
)
from gateway.destinations.registry import (
    DESTINATION_TYPES,
    consent_category,
    destination_type,
    stalls_by_urgency,
    status_sync_of,
    takes_crisis_lane,
)

SECRET = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ=="
EXAMPLES: dict[str, dict[str, Any]] = {
    "fhir": {
        "name": "ehr",
        "type": "fhir",
        "base_url": "https://ehr.example.org/fhir",
        "status_sync": {"mode": "poll"},
    },
    "crisis": {"name": "line", "type": "crisis", "url": "https://c.example.org", "secret": SECRET},
    "community": {"name": "org", "type": "community", "hsds_base_url": "https://hsds.example.org"},
    "inbox": {"name": "desk", "type": "inbox"},
}


def destination(data: dict[str, Any]) -> AnyDestination:
    return TypeAdapter(Destination).validate_python(data)


class _Publisher:
    async def publish(self, referral_id: str, destination: str) -> str | None:
        return None


def kit(*destinations: dict[str, Any]) -> ConnectorKit:
    given = [*destinations]
    if not any(d["type"] == "crisis" for d in given):
        given.append(EXAMPLES["crisis"])
    routing = [{"name": "all", "send_to": [d["name"] for d in given]}]
    config = parse_config({"destinations": given, "routing": routing})
    return ConnectorKit(config, InboxConnector(_Publisher()))


def test_every_config_type_has_exactly_one_entry() -> None:
    assert set(DESTINATION_TYPES) == set(EXAMPLES)
    for name, entry in DESTINATION_TYPES.items():
        assert entry.name == name
        assert entry.consent_category in RECIPIENT_CATEGORIES
        assert isinstance(destination(EXAMPLES[name]), entry.config)


@pytest.mark.parametrize(
    ("type_name", "expected"),
    [
        ("fhir", FhirConnector),
        ("crisis", CrisisConnector),
        ("community", CommunityConnector),
        ("inbox", InboxConnector),
    ],
)
async def test_each_entry_builds_its_connector(type_name: str, expected: type[Connector]) -> None:
    built = build_connector(destination(EXAMPLES[type_name]), kit(EXAMPLES[type_name]))
    try:
        assert isinstance(built, expected)
    finally:
        await built.aclose()


async def test_a_crisis_desk_without_url_is_the_built_in_inbox() -> None:
    desk = {"name": "desk", "type": "crisis"}
    the_kit = kit(desk)
    assert build_connector(destination(desk), the_kit) is the_kit.inbox


def test_only_the_crisis_type_takes_the_crisis_lane_and_skips_urgency_stalls() -> None:
    for name, data in EXAMPLES.items():
        assert takes_crisis_lane(destination(data)) is (name == "crisis")
        assert stalls_by_urgency(destination(data)) is (name != "crisis")


@pytest.mark.parametrize(
    ("type_name", "category"),
    [("fhir", "ehr"), ("crisis", "crisis"), ("community", "community"), ("inbox", "ehr")],
)
def test_consent_category_is_the_types_unless_configured(type_name: str, category: str) -> None:
    assert consent_category(destination(EXAMPLES[type_name])) == category
    named = destination({**EXAMPLES[type_name], "consent_category": "community"})
    assert consent_category(named) == "community"


async def test_status_sync_only_where_the_type_reads_tasks_and_the_config_asks() -> None:
    ehr = destination(EXAMPLES["fhir"])
    quiet = destination({**EXAMPLES["fhir"], "status_sync": None})
    assert status_sync_of(ehr) is not None and status_sync_of(quiet) is None
    assert all(status_sync_of(destination(EXAMPLES[t])) is None for t in ("crisis", "inbox"))
    readers = build_task_readers(
        kit(EXAMPLES["fhir"], {**EXAMPLES["fhir"], "name": "ehr2", "status_sync": None})
    )
    try:
        assert set(readers) == {"ehr"} and isinstance(readers["ehr"], EhrTaskReader)
    finally:
        for reader in readers.values():
            await reader.aclose()


def test_an_unknown_type_is_named() -> None:
    class Odd:
        type = "carrier-pigeon"

    with pytest.raises(ValueError, match="carrier-pigeon"):
        destination_type(Odd())  # type: ignore[arg-type]


async def test_a_factory_that_builds_no_connector_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway.destinations import factories

    monkeypatch.setattr(factories, "inbox_connector", lambda _d, _k: object())
    with pytest.raises(TypeError, match="inbox"):
        build_connector(destination(EXAMPLES["inbox"]), kit(EXAMPLES["inbox"]))
