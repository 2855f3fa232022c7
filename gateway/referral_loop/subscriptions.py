"""R4 Subscriptions Backport (HL7 FHIR IG ``hl7.fhir.uv.subscriptions-backport`` STU 1.1):
accepting a topic-based Subscription, matching its filters, building notifications.

- "R4 Topic-Based Subscription" (components.html, StructureDefinition-backport-subscription):
  ``criteria`` is the topic canonical, filters ride on ``_criteria`` as
  ``backport-filter-criteria`` extensions, payload content on ``channel._payload``
  (``backport-payload-content``), heartbeat on ``channel`` (``backport-heartbeat-period``).
- "Notifications" (notifications.html): a ``history`` Bundle whose first entry is the
  ``backport-subscription-status-r4`` Parameters (subscription, topic, status, type,
  events-since-subscription-start, notification-event with event-number, timestamp,
  focus); for ``full-resource`` the focus Task follows, for ``id-only`` only its URL.
- The topic is the HL7 SDOH Clinical Care one for Task create and update; its filters
  (``canFilterBy``) are ``owner``, ``requester``, ``status`` and ``code``.

Pure: data in, data out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from gateway.errors import InvalidInput, Issue

TOPIC = "http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Task"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
FILTER_CRITERIA = f"{BACKPORT}/backport-filter-criteria"
PAYLOAD_CONTENT = f"{BACKPORT}/backport-payload-content"
HEARTBEAT_PERIOD = f"{BACKPORT}/backport-heartbeat-period"
SUBSCRIPTION_PROFILE = f"{BACKPORT}/backport-subscription"
STATUS_PROFILE = f"{BACKPORT}/backport-subscription-status-r4"
CONTENTS = ("empty", "id-only", "full-resource")
FILTER_PARAMS = ("owner", "requester", "status", "code")
MIN_HEARTBEAT_SECONDS = 1


@dataclass(frozen=True)
class SubscriptionRequest:
    """What a client asked for, checked."""

    filters: tuple[str, ...]
    endpoint: str
    headers: tuple[str, ...]
    content: str
    heartbeat_seconds: int | None


def _bad(expression: str, message: str) -> Issue:
    return Issue(diagnostics=message, expression=expression)


def _extensions(node: Any, url: str) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return []
    return [e for e in node.get("extension") or [] if isinstance(e, dict) and e.get("url") == url]


def parse_filter(text: str) -> list[tuple[str, str]]:
    """``Task?owner=X&status=a,b`` (or without ``Task?``) as (parameter, value) pairs."""
    resource, sep, query = text.partition("?")
    if not sep:
        resource, query = "Task", text
    if resource != "Task":
        raise ValueError(f"filters of this topic are on Task, not '{resource}'")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        raise ValueError("a filter needs at least one parameter")
    for name, value in pairs:
        if name.split(":", 1)[0] not in FILTER_PARAMS:
            raise ValueError(
                f"'{name}' is not a filter of this topic (use {', '.join(FILTER_PARAMS)})"
            )
        if ":" in name or not value:
            raise ValueError(f"'{name}={value}' needs a plain value and no modifier")
    return pairs


def _filters(resource: Mapping[str, Any], issues: list[Issue]) -> tuple[str, ...]:
    texts = [e.get("valueString") for e in _extensions(resource.get("_criteria"), FILTER_CRITERIA)]
    filters: list[str] = []
    for index, text in enumerate(texts):
        where = f"Subscription._criteria.extension[{index}].valueString"
        if not isinstance(text, str):
            issues.append(_bad(where, "a filter criteria extension needs a valueString"))
            continue
        try:
            parse_filter(text)
        except ValueError as exc:
            issues.append(_bad(where, str(exc)))
            continue
        filters.append(text)
    return tuple(filters)


def _channel(
    resource: Mapping[str, Any], issues: list[Issue]
) -> tuple[str, tuple[str, ...], str, int | None]:
    channel = resource.get("channel")
    if not isinstance(channel, dict):
        issues.append(_bad("Subscription.channel", "a channel is required"))
        return "", (), "id-only", None
    if channel.get("type") != "rest-hook":
        issues.append(_bad("Subscription.channel.type", "only 'rest-hook' is supported"))
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        issues.append(_bad("Subscription.channel.endpoint", "an http(s) endpoint is required"))
        endpoint = ""
    payload = channel.get("payload")
    if payload is not None and payload not in ("application/fhir+json", "application/json"):
        issues.append(_bad("Subscription.channel.payload", "only application/fhir+json is sent"))
    headers = channel.get("header") or []
    if not isinstance(headers, list) or not all(
        isinstance(h, str) and ":" in h and h.partition(":")[0].strip() for h in headers
    ):
        issues.append(_bad("Subscription.channel.header", "each header is 'Name: value'"))
        headers = []
    contents = [e.get("valueCode") for e in _extensions(channel.get("_payload"), PAYLOAD_CONTENT)]
    content = contents[0] if contents else ("id-only" if payload else "empty")
    if content not in CONTENTS:
        issues.append(
            _bad("Subscription.channel._payload", f"payload content is one of {CONTENTS}")
        )
    periods = [e.get("valueUnsignedInt") for e in _extensions(channel, HEARTBEAT_PERIOD)]
    heartbeat = periods[0] if periods else None
    if heartbeat is not None and (not isinstance(heartbeat, int) or heartbeat < 1):
        issues.append(_bad("Subscription.channel.extension", "heartbeat period: whole seconds"))
        heartbeat = None
    return endpoint, tuple(headers), str(content), heartbeat


def parse_subscription(resource: Any) -> SubscriptionRequest:
    """Check a Subscription a client POSTed; ``InvalidInput`` names every problem."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Subscription":
        raise InvalidInput(
            "the body must be a Subscription",
            issues=[_bad("Subscription", "the body must be a Subscription resource")],
        )
    issues: list[Issue] = []
    if resource.get("criteria") != TOPIC:
        issues.append(_bad("Subscription.criteria", f"the topic served is {TOPIC}"))
    filters = _filters(resource, issues)
    endpoint, headers, content, heartbeat = _channel(resource, issues)
    if issues:
        raise InvalidInput(issues[0].diagnostics, issues=issues)
    return SubscriptionRequest(filters, endpoint, headers, content, heartbeat)


def _reference(node: Any) -> str:
    return str(node.get("reference", "")) if isinstance(node, dict) else ""


def _codes(task: Mapping[str, Any]) -> set[str]:
    codings = (task.get("code") or {}).get("coding") or []
    found: set[str] = set()
    for coding in codings:
        code = str(coding.get("code", ""))
        found |= {code, f"{coding.get('system', '')}|{code}"}
    return found


def _param_matches(name: str, value: str, task: Mapping[str, Any]) -> bool:
    wanted = value.split(",")
    if name == "status":
        return task.get("status") in wanted
    if name == "code":
        return bool(_codes(task) & set(wanted))
    actual = _reference(task.get(name))
    return any(actual == w or actual == f"Organization/{w}" for w in wanted)


def filters_match(filters: Sequence[str], task: Mapping[str, Any]) -> bool:
    """Every filter, and every parameter in it, must match (values in one are "any of")."""
    return all(
        _param_matches(name, value, task) for text in filters for name, value in parse_filter(text)
    )


@dataclass(frozen=True)
class StatusFacts:
    """What a subscription-status Parameters reports about one subscription."""

    fhir_base: str
    subscription_id: str
    status: str
    events_since_start: int

    @property
    def subscription_url(self) -> str:
        return f"{self.fhir_base}/Subscription/{self.subscription_id}"


@dataclass(frozen=True)
class Event:
    number: int
    timestamp: str
    focus: str
    """``Task/<id>``: the Task the event is about."""


def status_parameters(
    facts: StatusFacts, notification_type: str, events: Sequence[Event] = ()
) -> dict[str, Any]:
    """The ``backport-subscription-status-r4`` Parameters (event numbers as strings)."""
    parameters: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": facts.subscription_url}},
        {"name": "topic", "valueCanonical": TOPIC},
        {"name": "status", "valueCode": facts.status},
        {"name": "type", "valueCode": notification_type},
        {"name": "events-since-subscription-start", "valueString": str(facts.events_since_start)},
    ]
    for event in events:
        parameters.append(
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(event.number)},
                    {"name": "timestamp", "valueInstant": event.timestamp},
                    {
                        "name": "focus",
                        "valueReference": {"reference": f"{facts.fhir_base}/{event.focus}"},
                    },
                ],
            }
        )
    return {
        "resourceType": "Parameters",
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": parameters,
    }


def notification_bundle(
    facts: StatusFacts,
    notification_type: str,
    *,
    bundle_id: str,
    timestamp: str,
    events: Sequence[Event] = (),
    content: str = "empty",
    focus: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``history`` Bundle sent to the endpoint (status first, then the focus)."""
    status = status_parameters(facts, notification_type, events)
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{bundle_id}",
            "resource": status,
            "request": {"method": "GET", "url": f"{facts.subscription_url}/$status"},
            "response": {"status": "200"},
        }
    ]
    for event in events if content != "empty" else ():
        entry: dict[str, Any] = {"fullUrl": f"{facts.fhir_base}/{event.focus}"}
        if content == "full-resource" and focus is not None:
            entry["resource"] = dict(focus)
        entry["request"] = {"method": "PUT", "url": event.focus}
        entry["response"] = {"status": "200"}
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "history",
        "timestamp": timestamp,
        "entry": entries,
    }


def status_bundle(facts: StatusFacts, *, bundle_id: str, timestamp: str) -> dict[str, Any]:
    """The ``$status`` answer: a searchset with one subscription-status Parameters."""
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "searchset",
        "timestamp": timestamp,
        "total": 1,
        "entry": [
            {
                "fullUrl": f"urn:uuid:{bundle_id}",
                "resource": status_parameters(facts, "query-status"),
                "search": {"mode": "match"},
            }
        ],
    }
