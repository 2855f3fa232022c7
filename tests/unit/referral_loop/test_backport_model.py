"""R4 Subscriptions Backport: accepting a Subscription, filters, notification Bundles."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft6Validator

from gateway.errors import InvalidInput
from gateway.referral_loop.subscriptions import (
    FILTER_CRITERIA,
    HEARTBEAT_PERIOD,
    PAYLOAD_CONTENT,
    TOPIC,
    Event,
    StatusFacts,
    filters_match,
    notification_bundle,
    parse_subscription,
    status_bundle,
)

SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "schema" / "fhir.schema.json"


@cache
def _validator() -> Draft6Validator:
    definitions = json.loads(SCHEMA.read_text("utf-8"))["definitions"]
    return Draft6Validator({"$ref": "#/definitions/Bundle", "definitions": definitions})


def schema_errors(bundle: dict[str, Any]) -> list[str]:
    return [error.message for error in _validator().iter_errors(bundle)]


def subscription(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "New referrals for the clinic",
        "criteria": TOPIC,
        "_criteria": {
            "extension": [{"url": FILTER_CRITERIA, "valueString": "Task?owner=Organization/inbox"}]
        },
        "channel": {
            "type": "rest-hook",
            "endpoint": "https://clinic.example.org/fhir-hooks",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "full-resource"}]},
            "header": ["Authorization: Bearer clinic-secret"],
            "extension": [{"url": HEARTBEAT_PERIOD, "valueUnsignedInt": 60}],
        },
    }
    body.update(changes)
    return body


def test_parses_a_backport_subscription() -> None:
    request = parse_subscription(subscription())
    assert request.filters == ("Task?owner=Organization/inbox",)
    assert request.endpoint == "https://clinic.example.org/fhir-hooks"
    assert request.headers == ("Authorization: Bearer clinic-secret",)
    assert request.content == "full-resource"
    assert request.heartbeat_seconds == 60


@pytest.mark.parametrize(
    ("changes", "expression"),
    [
        ({"criteria": "Task?status=requested"}, "Subscription.criteria"),
        (
            {"_criteria": {"extension": [{"url": FILTER_CRITERIA, "valueString": "Task?x=1"}]}},
            "Subscription._criteria.extension[0].valueString",
        ),
        (
            {
                "_criteria": {
                    "extension": [{"url": FILTER_CRITERIA, "valueString": "Patient?owner=a"}]
                }
            },
            "Subscription._criteria.extension[0].valueString",
        ),
        ({"channel": {"type": "websocket"}}, "Subscription.channel.type"),
        (
            {"channel": {"type": "rest-hook", "endpoint": "ftp://x"}},
            "Subscription.channel.endpoint",
        ),
        (
            {"channel": {"type": "rest-hook", "endpoint": "https://x", "header": ["no colon"]}},
            "Subscription.channel.header",
        ),
    ],
)
def test_refuses_what_it_cannot_serve(changes: dict[str, Any], expression: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_subscription(subscription(**changes))
    assert expression in [issue.expression for issue in raised.value.issues]


TASK = {
    "resourceType": "Task",
    "id": "t1",
    "status": "requested",
    "intent": "order",
    "owner": {"reference": "Organization/inbox"},
    "requester": {"reference": "Organization/app"},
    "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
}


@pytest.mark.parametrize(
    ("filters", "matches"),
    [
        ([], True),
        (["Task?owner=Organization/inbox"], True),
        (["owner=inbox"], True),
        (["Task?owner=Organization/other"], False),
        (["Task?status=accepted,requested"], True),
        (["Task?status=accepted"], False),
        (["Task?owner=Organization/inbox&status=accepted"], False),
        (["Task?owner=Organization/inbox", "Task?status=requested"], True),
        (["Task?code=http://hl7.org/fhir/CodeSystem/task-code|fulfill"], True),
        (["Task?code=approve"], False),
        (["Task?requester=Organization/app"], True),
    ],
)
def test_filters(filters: list[str], matches: bool) -> None:
    assert filters_match(filters, TASK) is matches


FACTS = StatusFacts("https://gw.example/fhir", "sub-1", "active", 7)


def test_event_notification_full_resource() -> None:
    bundle = notification_bundle(
        FACTS,
        "event-notification",
        bundle_id="b1",
        timestamp="2026-11-27T10:00:00Z",
        events=[Event(7, "2026-11-27T09:59:59Z", "Task/t1")],
        content="full-resource",
        focus=TASK,
    )
    assert bundle["type"] == "history"
    status, focus = bundle["entry"]
    params = {p["name"]: p for p in status["resource"]["parameter"]}
    assert params["subscription"]["valueReference"]["reference"] == (
        "https://gw.example/fhir/Subscription/sub-1"
    )
    assert params["topic"]["valueCanonical"] == TOPIC
    assert params["type"]["valueCode"] == "event-notification"
    assert params["events-since-subscription-start"]["valueString"] == "7"
    parts = {p["name"]: p for p in params["notification-event"]["part"]}
    assert parts["event-number"]["valueString"] == "7"
    assert parts["focus"]["valueReference"]["reference"] == "https://gw.example/fhir/Task/t1"
    assert focus["fullUrl"] == "https://gw.example/fhir/Task/t1"
    assert focus["resource"] == TASK
    assert schema_errors(bundle) == []


def test_id_only_carries_no_resource_and_handshake_no_events() -> None:
    id_only = notification_bundle(
        FACTS,
        "event-notification",
        bundle_id="b2",
        timestamp="2026-11-27T10:00:00Z",
        events=[Event(8, "2026-11-27T10:00:00Z", "Task/t1")],
        content="id-only",
        focus=TASK,
    )
    assert "resource" not in id_only["entry"][1]
    assert id_only["entry"][1]["fullUrl"] == "https://gw.example/fhir/Task/t1"
    assert schema_errors(id_only) == []
    handshake = notification_bundle(
        StatusFacts("https://gw.example/fhir", "sub-1", "requested", 0),
        "handshake",
        bundle_id="b3",
        timestamp="2026-11-27T10:00:00Z",
    )
    assert len(handshake["entry"]) == 1
    names = [p["name"] for p in handshake["entry"][0]["resource"]["parameter"]]
    assert "notification-event" not in names
    assert schema_errors(handshake) == []


def test_status_bundle() -> None:
    bundle = status_bundle(FACTS, bundle_id="b4", timestamp="2026-11-27T10:00:00Z")
    assert bundle["type"] == "searchset"
    params = {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}
    assert params["type"]["valueCode"] == "query-status"
    assert params["status"]["valueCode"] == "active"
    assert schema_errors(bundle) == []
