"""A referral not accepted in its window raises one alert (audit, metric, app webhook);
the loop metrics report acceptance and completion times, stalls and SLA breaches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import running_gateway, triage
from joserfc.jwk import ECKey
from loop_fixtures import SettableClock, loop_config, submitted_inbox_task
from sqlalchemy import select

from gateway.referral_loop.task_update import Caller, TaskUpdater
from gateway.store import fhir_store
from gateway.store.tables import audit_log
from gateway.store.tables_loop import notifications


def stalling_config(keys: dict[str, ECKey]) -> dict[str, Any]:
    config = loop_config(keys)
    for destination in config["destinations"]:
        if destination["name"] == "inbox":
            destination["stall_after_seconds"] = 600
    return config


def _sample(text: str, name: str) -> float | None:
    for line in text.splitlines():
        named = line.startswith(name + " ") or line.startswith(name + "{")
        if named and ('destination="inbox"' in line or "{" not in line):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_stall_alert_once_then_metrics(tmp_path: Path) -> None:
    clock = SettableClock()
    async with running_gateway(tmp_path, config=stalling_config, clock=clock) as h:
        referral_id, task_id = await submitted_inbox_task(h, triage())
        runner = h.gateway.loop_runner
        assert runner is not None
        clock.advance(599)
        assert await runner.stalls.check() == 0
        clock.advance(2)
        assert await runner.stalls.check() == 1
        assert await runner.stalls.check() == 0  # once per stall
        async with h.gateway.engine.connect() as conn:
            audited = list(
                await conn.execute(
                    select(audit_log.c.referral_id).where(
                        audit_log.c.event_type == "referral-stalled"
                    )
                )
            )
            alerts = list(
                await conn.execute(
                    select(notifications.c.target).where(notifications.c.kind == "referral.stalled")
                )
            )
        assert [a.referral_id for a in audited] == [referral_id]
        assert [a.target for a in alerts] == ["app-a"]

        metrics = h.gateway.services.metrics
        async with h.gateway.engine.connect() as conn:
            await metrics.refresh(conn)
        text = metrics.render().decode()
        assert _sample(text, "gateway_referrals_stalled") == 1.0
        assert _sample(text, "gateway_referral_sla_breaches_total") == 1.0
        assert _sample(text, "gateway_referral_stall_alerts_total") == 1.0

        updater = TaskUpdater(h.gateway.config, h.gateway.services.audit)
        recipient = Caller("app-b", is_operator=False)
        for status in ("accepted", "completed"):
            clock.advance(60)
            async with h.gateway.engine.begin() as conn:
                stored = await fhir_store.read(conn, "Task", task_id)
                assert stored is not None
                await updater.put(
                    conn,
                    task_id,
                    {**stored.body, "status": status},
                    if_match=f'W/"{stored.version_id}"',
                    caller=recipient,
                    now=clock(),
                )
        async with h.gateway.engine.connect() as conn:
            await metrics.refresh(conn)
        text = metrics.render().decode()
        assert _sample(text, "gateway_referrals_stalled") == 0.0
        assert _sample(text, "gateway_referral_sla_breaches_total") == 1.0
        assert _sample(text, "gateway_time_to_acceptance_seconds_count") == 1.0
        assert _sample(text, "gateway_time_to_acceptance_seconds_sum") == 661.0
        assert _sample(text, "gateway_time_to_completion_seconds_sum") == 721.0
        assert 'gateway_referral_tasks{destination="inbox",status="completed"} 1.0' in text
