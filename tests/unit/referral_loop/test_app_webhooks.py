"""Standard Webhooks to the submitting app on every Task status change: signed, thin,
``webhook-id`` stable across retries, every attempt recorded, 410 disables."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from harness import Harness, running_gateway, triage
from loop_fixtures import (
    APP_HOOK,
    SECRET,
    Recorder,
    SettableClock,
    dispatcher_for,
    loop_config,
    recipient_headers,
    submitted_inbox_task,
)
from sqlalchemy import select

from connectors.webhooks import sign, verify
from gateway.store.tables_loop import disabled_webhooks, notification_attempts, notifications


async def _move(h: Harness, task_id: str, status: str, **extra: object) -> None:
    headers = await recipient_headers(h)
    current = await h.client.get(f"/fhir/Task/{task_id}", headers=headers)
    response = await h.client.put(
        f"/fhir/Task/{task_id}",
        json={**current.json(), "status": status, **extra},
        headers={**headers, "If-Match": current.headers["etag"]},
    )
    assert response.status_code == 200, response.text


def _verified(request: httpx.Request, clock: SettableClock) -> dict[str, object]:
    verify(SECRET, request.headers, request.content, now=int(clock().timestamp()))
    body: dict[str, object] = json.loads(request.content)
    return body


def test_known_answer_vector_of_the_standard_webhooks_specification() -> None:
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


async def test_each_status_change_reaches_the_app_once_signed_and_thin(tmp_path: Path) -> None:
    clock = SettableClock()
    async with running_gateway(tmp_path, config=loop_config, clock=clock) as h:
        referral_id, task_id = await submitted_inbox_task(h, triage())
        await _move(h, task_id, "accepted")
        await _move(h, task_id, "completed")
        recorder = Recorder()
        dispatcher = dispatcher_for(h, recorder, clock)
        assert await dispatcher.drain() >= 3
        assert await dispatcher.drain() == 0
        sent = [_verified(r, clock) for r in recorder.to(APP_HOOK)]
        inbox = [b for b in sent if b["data"]["destination"] == "inbox"]  # type: ignore[index]
        assert [b["data"]["status"] for b in inbox] == [  # type: ignore[index]
            "requested",
            "accepted",
            "completed",
        ]
        first = inbox[1]
        assert first["type"] == "referral.status_changed"
        data = first["data"]
        assert data["referral_id"] == referral_id  # type: ignore[index]
        assert data["previous_status"] == "requested"  # type: ignore[index]
        assert data["links"]["referral"] == f"http://gateway.test/referrals/{referral_id}"  # type: ignore[index]
        text = json.dumps(sent)
        assert "Ruiz" not in text and "1990-04-02" not in text


async def test_retries_keep_the_webhook_id_and_every_attempt_is_recorded(tmp_path: Path) -> None:
    clock = SettableClock()
    async with running_gateway(tmp_path, config=loop_config, clock=clock) as h:
        _, task_id = await submitted_inbox_task(h, triage())
        recorder = Recorder()
        dispatcher = dispatcher_for(h, recorder, clock)
        await dispatcher.drain()  # the deliveries' "requested" events
        recorder.requests.clear()
        await _move(h, task_id, "accepted")
        recorder.statuses = [503]
        assert await dispatcher.drain() == 1
        assert await dispatcher.drain() == 0  # backing off: not due yet
        clock.advance(5)
        assert await dispatcher.drain() == 1
        first, second = recorder.to(APP_HOOK)
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
        async with h.gateway.engine.connect() as conn:
            attempts = list(
                await conn.execute(
                    select(notification_attempts.c.outcome).where(
                        notification_attempts.c.notification_id == first.headers["webhook-id"]
                    )
                )
            )
            row = (
                await conn.execute(
                    select(notifications).where(notifications.c.id == first.headers["webhook-id"])
                )
            ).one()
        assert [a.outcome for a in attempts] == ["transient", "delivered"]
        assert row.status == "delivered" and row.attempts == 2


async def test_410_disables_the_endpoint(tmp_path: Path) -> None:
    clock = SettableClock()
    async with running_gateway(tmp_path, config=loop_config, clock=clock) as h:
        _, task_id = await submitted_inbox_task(h, triage())
        recorder = Recorder(statuses=[410])
        dispatcher = dispatcher_for(h, recorder, clock)
        await dispatcher.drain()
        await _move(h, task_id, "accepted")
        await dispatcher.drain()
        assert len(recorder.to(APP_HOOK)) == 1
        async with h.gateway.engine.connect() as conn:
            disabled = list(await conn.execute(select(disabled_webhooks)))
            queued = list(
                await conn.execute(
                    select(notifications.c.status).where(notifications.c.channel == "app-webhook")
                )
            )
        assert [(d.client_id, d.url) for d in disabled] == [("app-a", APP_HOOK)]
        assert sorted(q.status for q in queued) == ["dead", "skipped"]
