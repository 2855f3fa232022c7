"""The escalation watcher: step by step, signed, audited, until somebody acknowledges."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from crisis_rig import (
    DIRECTOR,
    ONCALL,
    OPERATOR,
    SECRET,
    T0,
    FakeClock,
    Receiver,
    acknowledge,
    auth_at,
    crisis_config,
    imminent,
    mock_connectors,
    submit_delivered,
    watcher,
)
from harness import running_gateway
from sqlalchemy import select
from structlog.testing import capture_logs

from connectors.mock import MockConnector
from connectors.webhooks import verify
from gateway.crisis.ports import EscalationMessage, EscalationPort
from gateway.crisis.watcher import CrisisWatcher
from gateway.store.tables import audit_log, deliveries
from gateway.store.tables_crisis import escalations


async def _escalations(h) -> list[tuple[int, str, str, str]]:  # type: ignore[no-untyped-def]
    async with h.gateway.engine.connect() as conn:
        rows = await conn.execute(
            select(
                escalations.c.step,
                escalations.c.contact,
                escalations.c.reason,
                escalations.c.outcome,
            ).order_by(escalations.c.step)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def _crisis_delivery_id(h) -> str:  # type: ignore[no-untyped-def]
    async with h.gateway.engine.connect() as conn:
        return str(
            (
                await conn.execute(
                    select(deliveries.c.id).where(deliveries.c.destination == "crisis-line")
                )
            ).scalar_one()
        )


async def _audited_escalations(h) -> int:  # type: ignore[no-untyped-def]
    async with h.gateway.engine.connect() as conn:
        rows = await conn.execute(
            select(audit_log.c.seq).where(audit_log.c.event_type == "crisis-escalated")
        )
        return len(list(rows))


async def test_escalates_step_by_step_with_signed_webhooks(tmp_path: Path) -> None:
    clock = FakeClock()
    receiver = Receiver()
    async with running_gateway(
        tmp_path, config=crisis_config(sla=60), connectors=mock_connectors(), clock=clock
    ) as h:
        referral_id = await submit_delivered(h, clock, imminent())
        w = watcher(h, receiver, clock)
        assert await w.run_once(clock.at(59)) == 0
        assert await w.run_once(clock.at(60)) == 1
        assert await w.run_once(clock.at(61)) == 0  # the next step waits a full SLA period
        assert await w.run_once(clock.at(120)) == 1
        assert await w.run_once(clock.at(180)) == 1
        assert await w.run_once(clock.at(240)) == 1
        await w.aclose()

        # On-call first, then the director, then the director again every period.
        assert receiver.urls() == [ONCALL, DIRECTOR, DIRECTOR, DIRECTOR]
        delivery_id = await _crisis_delivery_id(h)
        for step, request in enumerate(receiver.requests, start=1):
            sent_at = int((T0 + timedelta(seconds=60 * step)).timestamp())
            verify(SECRET, request.headers, request.content, now=sent_at, tolerance=0)
            assert request.headers["webhook-id"] == f"esc_{delivery_id}_{step}"
        steps = [(p["data"]["step"], p["data"]["referral_id"]) for p in receiver.payloads()]
        assert steps == [(1, referral_id), (2, referral_id), (3, referral_id), (4, referral_id)]
        assert [p["data"]["unacknowledged_seconds"] for p in receiver.payloads()] == [
            60,
            120,
            180,
            240,
        ]
        assert receiver.payloads()[0]["data"]["links"]["acknowledge"].endswith(
            f"/referrals/{referral_id}/acknowledge"
        )
        assert await _escalations(h) == [
            (1, "on-call clinician", "sla", "sent"),
            (2, "clinical director", "sla", "sent"),
            (3, "clinical director", "sla", "sent"),
            (4, "clinical director", "sla", "sent"),
        ]
        assert await _audited_escalations(h) == 4
        metrics = h.gateway.services.metrics.render().decode()
        assert 'gateway_crisis_escalations_total{destination="crisis-line",outcome="sent"} 4.0' in (
            metrics
        )
        assert 'gateway_crisis_sla_breaches_total{destination="crisis-line"} 4.0' in metrics
        view = await h.client.get(
            f"/referrals/{referral_id}", headers=await auth_at(h, *OPERATOR, clock)
        )
        crisis = next(d for d in view.json()["deliveries"] if d["destination"] == "crisis-line")
        assert crisis["acknowledgement"] is None
        assert [e["step"] for e in crisis["escalations"]] == [1, 2, 3, 4]
        assert crisis["escalations"][0]["at"] == "2026-11-27T12:01:00Z"


async def test_an_acknowledgement_stops_escalation(tmp_path: Path) -> None:
    clock = FakeClock()
    receiver = Receiver()
    async with running_gateway(
        tmp_path, config=crisis_config(sla=60), connectors=mock_connectors(), clock=clock
    ) as h:
        referral_id = await submit_delivered(h, clock, imminent())
        w = watcher(h, receiver, clock)
        assert await w.run_once(clock.at(60)) == 1
        clock.at(90)
        assert (await acknowledge(h, referral_id, clock)).status_code == 200
        for seconds in (120, 180, 600, 3600):
            assert await w.run_once(clock.at(seconds)) == 0
        await w.aclose()
        assert receiver.urls() == [ONCALL]
        assert await _escalations(h) == [(1, "on-call clinician", "sla", "sent")]


async def test_a_failed_step_moves_to_the_next_contact_on_the_next_pass(tmp_path: Path) -> None:
    clock = FakeClock()
    receiver = Receiver(failing={ONCALL, DIRECTOR})
    async with running_gateway(
        tmp_path, config=crisis_config(sla=60), connectors=mock_connectors(), clock=clock
    ) as h:
        await submit_delivered(h, clock, imminent())
        w = watcher(h, receiver, clock)
        assert await w.run_once(clock.at(60)) == 1  # on-call: 500
        assert await w.run_once(clock.at(65)) == 1  # next pass: the director at once (500)
        assert await w.run_once(clock.at(70)) == 0  # the last contact failed: wait a period
        receiver.failing.clear()
        assert await w.run_once(clock.at(125)) == 1
        await w.aclose()
        assert receiver.urls() == [ONCALL, DIRECTOR, DIRECTOR]
        assert await _escalations(h) == [
            (1, "on-call clinician", "sla", "failed"),
            (2, "clinical director", "sla", "failed"),
            (3, "clinical director", "sla", "sent"),
        ]
        assert await _audited_escalations(h) == 3
        metrics = h.gateway.services.metrics.render().decode()
        assert 'outcome="failed"} 2.0' in metrics


async def test_a_dead_lettered_crisis_delivery_escalates_at_once(tmp_path: Path) -> None:
    clock = FakeClock()
    receiver = Receiver()
    crisis = MockConnector(permanent_reason="crisis endpoint refused the message")
    async with running_gateway(
        tmp_path, config=crisis_config(sla=300), connectors=mock_connectors(crisis), clock=clock
    ) as h:
        await submit_delivered(h, clock, imminent())
        w = watcher(h, receiver, clock)
        assert await w.run_once(clock.at(0)) == 1
        assert await w.run_once(clock.at(299)) == 0
        assert await w.run_once(clock.at(300)) == 1
        await w.aclose()
        assert receiver.urls() == [ONCALL, DIRECTOR]
        assert [row[2] for row in await _escalations(h)] == ["dead-letter", "dead-letter"]
        metrics = h.gateway.services.metrics.render().decode()
        assert "gateway_crisis_sla_breaches_total{" not in metrics  # no SLA ran: it never landed


async def test_a_desk_without_url_or_contacts_alerts_every_period(tmp_path: Path) -> None:
    clock = FakeClock()
    receiver = Receiver()
    async with running_gateway(
        tmp_path,
        config=crisis_config(url=False, contacts=0, sla=300),
        connectors=mock_connectors(),
        clock=clock,
    ) as h:
        await submit_delivered(h, clock, imminent())
        w = watcher(h, receiver, clock)
        assert w.ports == {}
        with capture_logs() as logs:
            assert await w.run_once(clock.at(299)) == 0
            assert await w.run_once(clock.at(300)) == 1
            assert await w.run_once(clock.at(599)) == 0
            assert await w.run_once(clock.at(600)) == 1
        assert receiver.requests == []
        assert [row[3] for row in await _escalations(h)] == ["alerted", "alerted"]
        assert await _audited_escalations(h) == 2
        alerts = [entry for entry in logs if entry["event"] == "crisis.unacknowledged"]
        assert [(a["attempt"], a["outcome"]) for a in alerts] == [(1, "alerted"), (2, "alerted")]
        metrics = h.gateway.services.metrics.render().decode()
        assert (
            'gateway_crisis_escalations_total{destination="crisis-line",outcome="alerted"} 2.0'
            in metrics
        )


async def test_two_watchers_never_send_the_same_step_twice(tmp_path: Path) -> None:
    clock = FakeClock()
    receiver = Receiver()
    async with running_gateway(
        tmp_path, config=crisis_config(sla=60), connectors=mock_connectors(), clock=clock
    ) as h:
        await submit_delivered(h, clock, imminent())
        first, second = watcher(h, receiver, clock), watcher(h, receiver, clock)
        assert await first.run_once(clock.at(60)) == 1
        assert await second.run_once(clock.at(60)) == 0
        await first.aclose()
        await second.aclose()
        assert receiver.urls() == [ONCALL]


async def test_contacts_without_a_sender_are_refused_at_start(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=crisis_config(), connectors=mock_connectors()) as h:
        assert h.gateway.crisis_watcher is not None
        assert set(h.gateway.crisis_watcher.ports) == {"crisis-line"}  # bootstrap wired one
        with pytest.raises(ValueError, match="crisis-line"):
            CrisisWatcher(
                h.gateway.engine,
                h.gateway.config,
                ports={},
                audit=h.gateway.services.audit,
                metrics=h.gateway.services.metrics,
                clock=h.gateway.clock,
                public_url="http://gateway.test",
            )


async def test_the_gateway_runs_its_watcher_beside_the_worker(tmp_path: Path) -> None:
    clock = FakeClock()
    crisis = MockConnector(permanent_reason="crisis endpoint refused the message")
    async with running_gateway(
        tmp_path,
        config=crisis_config(url=False, contacts=0),
        connectors=mock_connectors(crisis),
        clock=clock,
    ) as h:
        assert isinstance(h.gateway.crisis_watcher, CrisisWatcher)
        await submit_delivered(h, clock, imminent())
        stop = asyncio.Event()
        await h.gateway.start_worker(stop)
        for _ in range(200):
            if await _escalations(h):
                break
            await asyncio.sleep(0.01)
        stop.set()
        assert await _escalations(h) == [
            (1, "operators (crisis desk alert)", "dead-letter", "alerted")
        ]


class BrokenFirstPort(EscalationPort):
    """Raises something unexpected on its first send, then succeeds."""

    def __init__(self) -> None:
        self.sent: list[EscalationMessage] = []

    async def send(self, message: EscalationMessage) -> str:
        self.sent.append(message)
        if len(self.sent) == 1:
            raise RuntimeError("bug in a sender")
        return "ok"

    async def aclose(self) -> None:
        return None


async def test_an_unexpected_sender_error_is_a_failed_step_not_a_stop(tmp_path: Path) -> None:
    clock = FakeClock()
    port = BrokenFirstPort()
    async with running_gateway(
        tmp_path, config=crisis_config(sla=60), connectors=mock_connectors(), clock=clock
    ) as h:
        await submit_delivered(h, clock, imminent())
        w = CrisisWatcher(
            h.gateway.engine,
            h.gateway.config,
            ports={"crisis-line": port},
            audit=h.gateway.services.audit,
            metrics=h.gateway.services.metrics,
            clock=clock,
            public_url="http://gateway.test",
        )
        assert await w.run_once(clock.at(60)) == 1
        assert await w.run_once(clock.at(61)) == 1
        assert [m.contact_url for m in port.sent] == [ONCALL, DIRECTOR]
        assert [row[3] for row in await _escalations(h)] == ["failed", "sent"]
