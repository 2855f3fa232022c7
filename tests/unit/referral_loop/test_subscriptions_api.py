"""POST /fhir/Subscription (R4 Backport): handshake, numbered events, id-only and
full-resource payloads, heartbeats, $status, and endpoints that fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import Harness, running_gateway, triage
from loop_fixtures import (
    Recorder,
    SettableClock,
    dispatcher_for,
    loop_config,
    recipient_headers,
    submitted_inbox_task,
)

from gateway.referral_loop.heartbeats import queue_heartbeats
from gateway.referral_loop.subscriptions import (
    FILTER_CRITERIA,
    HEARTBEAT_PERIOD,
    PAYLOAD_CONTENT,
    TOPIC,
)

ENDPOINT = "https://clinic.example.org/notifications"


def subscription(content: str = "full-resource", endpoint: str = ENDPOINT) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Referrals waiting for the clinic",
        "criteria": TOPIC,
        "_criteria": {
            "extension": [{"url": FILTER_CRITERIA, "valueString": "Task?owner=Organization/inbox"}]
        },
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": content}]},
            "header": ["Authorization: Bearer clinic-inbound-token"],
            "extension": [{"url": HEARTBEAT_PERIOD, "valueUnsignedInt": 60}],
        },
    }


async def _subscribe(h: Harness, body: dict[str, Any]) -> dict[str, Any]:
    response = await h.client.post(
        "/fhir/Subscription", json=body, headers=await recipient_headers(h)
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"].endswith(f"/fhir/Subscription/{response.json()['id']}")
    created: dict[str, Any] = response.json()
    return created


def _status(bundle: dict[str, Any]) -> dict[str, Any]:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    parameters = bundle["entry"][0]["resource"]
    assert parameters["resourceType"] == "Parameters"
    return {p["name"]: p for p in parameters["parameter"]}


def _bodies(recorder: Recorder) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in recorder.to(ENDPOINT)]


async def test_handshake_events_heartbeat_and_status(tmp_path: Path) -> None:
    clock = SettableClock()
    async with running_gateway(tmp_path, config=loop_config, clock=clock) as h:
        created = await _subscribe(h, subscription())
        assert created["status"] == "requested"
        recorder = Recorder()
        dispatcher = dispatcher_for(h, recorder, clock)
        assert await dispatcher.drain() == 1
        (handshake,) = recorder.to(ENDPOINT)
        assert handshake.headers["authorization"] == "Bearer clinic-inbound-token"
        assert handshake.headers["content-type"] == "application/fhir+json"
        params = _status(json.loads(handshake.content))
        assert params["type"]["valueCode"] == "handshake"
        assert params["status"]["valueCode"] == "requested"
        read = await h.client.get(
            f"/fhir/Subscription/{created['id']}", headers=await recipient_headers(h)
        )
        assert read.json()["status"] == "active"

        _, task_id = await submitted_inbox_task(h, triage())
        headers = await recipient_headers(h)
        task = await h.client.get(f"/fhir/Task/{task_id}", headers=headers)
        accepted = await h.client.put(
            f"/fhir/Task/{task_id}",
            json={**task.json(), "status": "accepted"},
            headers={**headers, "If-Match": task.headers["etag"]},
        )
        assert accepted.status_code == 200
        await dispatcher.drain()
        events = [b for b in _bodies(recorder) if _status(b)["type"]["valueCode"] != "handshake"]
        numbers = []
        for bundle in events:
            params = _status(bundle)
            assert params["type"]["valueCode"] == "event-notification"
            parts = {p["name"]: p for p in params["notification-event"]["part"]}
            numbers.append(int(parts["event-number"]["valueString"]))
            assert params["events-since-subscription-start"]["valueString"] == str(numbers[-1])
            focus = bundle["entry"][1]
            assert focus["fullUrl"] == f"http://gateway.test/fhir/Task/{task_id}"
            assert focus["resource"]["id"] == task_id
        assert numbers == [1, 2]  # the crisis desk's Task is not this subscriber's
        assert [b["entry"][1]["resource"]["status"] for b in events] == ["requested", "accepted"]

        clock.advance(61)
        async with h.gateway.engine.begin() as conn:
            assert await queue_heartbeats(conn, clock()) == 1
            assert await queue_heartbeats(conn, clock()) == 0  # one waiting is enough
        await dispatcher.drain()
        heartbeat = _status(_bodies(recorder)[-1])
        assert heartbeat["type"]["valueCode"] == "heartbeat"
        assert heartbeat["events-since-subscription-start"]["valueString"] == "2"

        for method in ("GET", "POST"):
            status = await h.client.request(
                method, f"/fhir/Subscription/{created['id']}/$status", headers=headers
            )
            assert status.status_code == 200
            entry = status.json()["entry"][0]["resource"]
            values = {p["name"]: p for p in entry["parameter"]}
            assert values["events-since-subscription-start"]["valueString"] == "2"
            assert values["status"]["valueCode"] == "active"
        stranger = await h.client.get(
            f"/fhir/Subscription/{created['id']}", headers=await h.auth("app-a")
        )
        assert stranger.status_code in (403, 404)


async def test_id_only_sends_the_reference_without_the_task(tmp_path: Path) -> None:
    clock = SettableClock()
    async with running_gateway(tmp_path, config=loop_config, clock=clock) as h:
        await _subscribe(h, subscription("id-only"))
        recorder = Recorder()
        dispatcher = dispatcher_for(h, recorder, clock)
        await dispatcher.drain()
        _, task_id = await submitted_inbox_task(h, triage())
        await dispatcher.drain()
        event = _bodies(recorder)[-1]
        assert _status(event)["type"]["valueCode"] == "event-notification"
        assert event["entry"][1] == {
            "fullUrl": f"http://gateway.test/fhir/Task/{task_id}",
            "request": {"method": "PUT", "url": f"Task/{task_id}"},
            "response": {"status": "200"},
        }


async def test_a_refused_handshake_puts_the_subscription_in_error(tmp_path: Path) -> None:
    clock = SettableClock()
    async with running_gateway(tmp_path, config=loop_config, clock=clock) as h:
        created = await _subscribe(h, subscription())
        recorder = Recorder(statuses=[400])
        await dispatcher_for(h, recorder, clock).drain()
        read = await h.client.get(
            f"/fhir/Subscription/{created['id']}", headers=await recipient_headers(h)
        )
        assert read.json()["status"] == "error"
        assert "400" in read.json()["error"]


async def test_a_private_endpoint_is_refused_by_the_outbound_guard(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=loop_config) as h:
        created = await _subscribe(h, subscription(endpoint="http://127.0.0.1:9/hook"))
        runner = h.gateway.loop_runner
        assert runner is not None
        await runner.dispatcher.drain()
        read = await h.client.get(
            f"/fhir/Subscription/{created['id']}", headers=await recipient_headers(h)
        )
        assert read.json()["status"] == "error"
        assert "loopback" in read.json()["error"]


async def test_bad_subscriptions_are_422_and_need_the_scope(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=loop_config) as h:
        bad = {**subscription(), "criteria": "Task?status=requested"}
        response = await h.client.post(
            "/fhir/Subscription", json=bad, headers=await recipient_headers(h)
        )
        assert response.status_code == 422
        assert response.json()["issue"][0]["expression"] == ["Subscription.criteria"]
        no_scope = await h.client.post(
            "/fhir/Subscription", json=subscription(), headers=await h.auth("app-a")
        )
        assert no_scope.status_code == 403
        metadata = (await h.client.get("/fhir/metadata")).json()
        (served,) = [r for r in metadata["rest"][0]["resource"] if r["type"] == "Subscription"]
        assert [i["code"] for i in served["interaction"]] == ["create", "read"]
        assert served["operation"][0]["name"] == "status"
        not_json = await h.client.post(
            "/fhir/Subscription", content=b"{", headers=await recipient_headers(h)
        )
        assert not_json.status_code == 400
