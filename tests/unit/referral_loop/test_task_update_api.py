"""PUT / PATCH /fhir/Task/{id}: the recipient moves the referral along; If-Match; who may
set what; what recipients may read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from harness import Harness, running_gateway, triage
from loop_fixtures import loop_config, recipient_headers, requester_headers, submitted_inbox_task
from sqlalchemy import select

from gateway.audit.recorder import client_party
from gateway.store.tables import audit_log


async def _read(h: Harness, task_id: str) -> tuple[dict[str, Any], str]:
    response = await h.client.get(f"/fhir/Task/{task_id}", headers=await recipient_headers(h))
    assert response.status_code == 200, response.text
    return response.json(), response.headers["etag"]


async def _put(
    h: Harness, task: dict[str, Any], etag: str | None, headers: dict[str, str] | None = None
) -> httpx.Response:
    extra = {"If-Match": etag} if etag else {}
    return await h.client.put(
        f"/fhir/Task/{task['id']}",
        json=task,
        headers={**(headers or await recipient_headers(h)), **extra},
    )


def _issue_expressions(response: httpx.Response) -> list[str]:
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    return [e for issue in outcome["issue"] for e in issue.get("expression", [])]


async def test_recipient_walks_the_task_to_completed(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=loop_config) as h:
        referral_id, task_id = await submitted_inbox_task(h, triage())
        for status in ("received", "accepted", "in-progress", "completed"):
            task, etag = await _read(h, task_id)
            response = await _put(h, {**task, "status": status}, etag)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == status
            assert response.headers["etag"] == f'W/"{int(etag[3:-1]) + 1}"'
            assert response.json()["lastModified"]
            view = (await h.get(f"/referrals/{referral_id}")).json()
            inbox = next(d for d in view["deliveries"] if d["destination"] == "inbox")
            assert inbox["task"]["status"] == status
            assert view["status"] == status
        async with h.gateway.engine.connect() as conn:
            entries = [
                json.loads(row.entry)
                for row in await conn.execute(
                    select(audit_log.c.entry).where(audit_log.c.event_type == "task-updated")
                )
            ]
        assert [e["outcomeDesc"] for e in entries] == [
            f"Task status is now '{s}'"
            for s in ("received", "accepted", "in-progress", "completed")
        ]
        assert all(e["agent"][0]["requestor"] for e in entries)
        assert {json.dumps(e["agent"][0]["who"]) for e in entries} == {
            json.dumps(client_party("app-b").who)
        }


async def test_stale_or_missing_if_match_is_412(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=loop_config) as h:
        _, task_id = await submitted_inbox_task(h, triage())
        task, etag = await _read(h, task_id)
        assert (await _put(h, {**task, "status": "accepted"}, etag)).status_code == 200
        stale = await _put(h, {**task, "status": "in-progress"}, etag)
        assert stale.status_code == 412
        missing = await _put(h, {**task, "status": "in-progress"}, None)
        assert missing.status_code == 412
        assert "If-Match" in missing.json()["issue"][0]["diagnostics"]
        current, _ = await _read(h, task_id)
        assert current["status"] == "accepted"


async def test_transitions_the_caller_may_not_make_are_422(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=loop_config) as h:
        _, task_id = await submitted_inbox_task(h, triage())
        task, etag = await _read(h, task_id)
        by_requester = await _put(
            h, {**task, "status": "accepted"}, etag, await requester_headers(h)
        )
        assert by_requester.status_code == 422
        assert _issue_expressions(by_requester) == ["Task.status"]
        assert "recipient" in by_requester.json()["issue"][0]["diagnostics"]
        skipping = await _put(h, {**task, "status": "completed"}, etag)
        assert skipping.status_code == 422
        assert _issue_expressions(skipping) == ["Task.status"]
        no_reason = await _put(h, {**task, "status": "rejected"}, etag)
        assert _issue_expressions(no_reason) == ["Task.statusReason.text"]
        other_patient = await _put(
            h, {**task, "status": "accepted", "for": {"reference": "Patient/x"}}, etag
        )
        assert other_patient.status_code == 422
        assert _issue_expressions(other_patient) == ["Task.for"]
        rejected = await _put(
            h, {**task, "status": "rejected", "statusReason": {"text": "Not our area."}}, etag
        )
        assert rejected.status_code == 200
        task, etag = await _read(h, task_id)
        reopen = await _put(h, {**task, "status": "accepted"}, etag)
        assert reopen.status_code == 422 and "final" in reopen.text


async def test_requester_may_cancel_with_a_reason(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=loop_config) as h:
        referral_id, task_id = await submitted_inbox_task(h, triage())
        task, etag = await _read(h, task_id)
        cancelled = {**task, "status": "cancelled", "statusReason": {"text": "Person moved."}}
        response = await _put(h, cancelled, etag, await requester_headers(h))
        assert response.status_code == 200, response.text
        view = (await h.get(f"/referrals/{referral_id}")).json()
        inbox = next(d for d in view["deliveries"] if d["destination"] == "inbox")
        assert inbox["task"]["status_reason"] == "Person moved."


async def test_patch_with_json_patch(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=loop_config) as h:
        _, task_id = await submitted_inbox_task(h, triage())
        _, etag = await _read(h, task_id)
        patch = [
            {"op": "test", "path": "/status", "value": "requested"},
            {"op": "replace", "path": "/status", "value": "accepted"},
            {"op": "add", "path": "/businessStatus", "value": {"text": "scheduled"}},
        ]
        headers = {**await recipient_headers(h), "If-Match": etag}
        wrong_type = await h.client.patch(f"/fhir/Task/{task_id}", json=patch, headers=headers)
        assert wrong_type.status_code == 400
        response = await h.client.patch(
            f"/fhir/Task/{task_id}",
            content=httpx.Request("PATCH", "/", json=patch).content,
            headers={**headers, "Content-Type": "application/json-patch+json"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["businessStatus"] == {"text": "scheduled"}
        failing = await h.client.patch(
            f"/fhir/Task/{task_id}",
            content=b'[{"op": "replace", "path": "/intent", "value": "plan"}]',
            headers={
                **headers,
                "If-Match": response.headers["etag"],
                "Content-Type": "application/json-patch+json",
            },
        )
        assert failing.status_code == 422
        assert _issue_expressions(failing) == ["Task.intent"]


async def test_recipient_sees_its_tasks_and_what_they_point_to_only(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=loop_config) as h:
        referral_id, task_id = await submitted_inbox_task(h, triage())
        headers = await recipient_headers(h)
        task, _ = await _read(h, task_id)
        service_request = task["focus"]["reference"]
        patient = task["for"]["reference"]
        for reference in (service_request, patient):
            assert (await h.client.get(f"/fhir/{reference}", headers=headers)).status_code == 200
        found = await h.client.get(
            "/fhir/Task", params={"owner": "Organization/inbox"}, headers=headers
        )
        assert [e["resource"]["id"] for e in found.json()["entry"]] == [task_id]
        view = (await h.get(f"/referrals/{referral_id}")).json()
        crisis = next(d for d in view["deliveries"] if d["destination"] == "crisis-desk")
        crisis_task = crisis["task"]["reference"]
        assert (await h.client.get(f"/fhir/{crisis_task}", headers=headers)).status_code == 404
        others = await h.client.get(
            "/fhir/Task", params={"owner": "Organization/crisis-desk"}, headers=headers
        )
        assert others.json()["total"] == 0
        observation = view["links"]["Observation"]
        assert (await h.client.get(observation, headers=headers)).status_code == 404
        crisis_body = (await h.get(f"/fhir/{crisis_task}", client_id="operator")).json()
        etag = f'W/"{crisis_body["meta"]["versionId"]}"'
        assert (await _put(h, {**crisis_body, "status": "accepted"}, etag)).status_code == 404
        scope = "system/Task.rs"
        no_update_scope = await h.client.put(
            f"/fhir/Task/{task_id}",
            json=task,
            headers={"Authorization": f"Bearer {await h.token('app-b', scope)}", "If-Match": etag},
        )
        assert no_update_scope.status_code == 403
