"""Drift alerts: a model version whose output moved away from its card, or that
under-triages (CONTRACT.md v1.1; docs/monitoring.md).

``DriftMonitor.check`` computes each version's drift verdict over the last
``drift.window_days`` days with the report's own arithmetic and keeps one state row
per version. A crossing (off to on, or on to off) is announced once: a log event, the
operator webhook if ``drift.webhook`` is set, and the state the metric
``gateway_model_drift_alert{model,version}`` and the console banner
(``active_drift_alerts``) read. Several processes may check: a conditional update
lets exactly one of them announce a crossing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.config import GatewayConfig
from gateway.context import Clock, fhir_instant
from gateway.logging import get_logger
from gateway.store.tables_trust import drift_alerts
from gateway.trust.figures import Period
from gateway.trust.report import build_report

log = get_logger("gateway.trust.drift")


class Notify(Protocol):
    """The operators' webhook (``connectors.webhooks.WebhookSender`` fits)."""

    async def send(self, msg_id: str, payload: Mapping[str, Any]) -> Any: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class DriftAlert:
    """A version's drift state; ``active`` alerts are what the console shows as a banner."""

    model: str
    version: str
    active: bool
    reason: str | None
    psi: float | None
    under_triage_rate: float | None
    referrals: int
    reviews: int
    since: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "active": self.active,
            "reason": self.reason,
            "risk_level_psi": self.psi,
            "under_triage_rate": self.under_triage_rate,
            "referrals": self.referrals,
            "reviews": self.reviews,
            "since": fhir_instant(self.since),
        }


def _alert(row: Any) -> DriftAlert:
    return DriftAlert(
        model=row.model,
        version=row.version,
        active=row.active,
        reason=row.reason,
        psi=row.psi,
        under_triage_rate=row.under_triage_rate,
        referrals=row.referrals,
        reviews=row.reviews,
        since=row.since,
    )


async def drift_states(conn: AsyncConnection) -> list[DriftAlert]:
    rows = await conn.execute(
        select(drift_alerts).order_by(drift_alerts.c.model, drift_alerts.c.version)
    )
    return [_alert(row) for row in rows]


async def active_drift_alerts(engine: AsyncEngine) -> list[DriftAlert]:
    """The alerts in force now: for the console's banner."""
    async with engine.connect() as conn:
        return [a for a in await drift_states(conn) if a.active]


def window(now: datetime, days: int) -> Period:
    today = now.date()
    return Period(today - timedelta(days=days - 1), today)


def reason_for(figures: dict[str, Any], psi_alert: float) -> str | None:
    drift = figures["drift"]
    if not drift["alert"]:
        return None
    psi = drift["risk_level_psi"]
    if psi is not None and psi > psi_alert:
        return f"risk-level mix drifted from the card (PSI {psi:.3f} > {psi_alert})"
    return f"under-triage rate {figures['under_triage_rate']:.2f} over {figures['reviews']} reviews"


class DriftMonitor:
    def __init__(
        self,
        engine: AsyncEngine,
        config: GatewayConfig,
        *,
        clock: Clock,
        notify: Notify | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.notify = notify
        self._written = datetime.min.replace(tzinfo=UTC)
        self._pending: set[asyncio.Task[None]] = set()
        self.wake = asyncio.Event()
        """Set when a referral or a review arrives: check soon."""

    async def check(self, *, announce_later: bool = False) -> list[DriftAlert]:
        """Evaluate every version seen in the window; the crossings this call announced.

        ``announce_later``: announce in the background (a metrics scrape must not wait
        for a webhook)."""
        now = self.clock()
        drift = self.config.drift
        report = await build_report(
            self.engine, self.config, window(now, drift.window_days), "internal", now
        )
        async with self.engine.connect() as conn:
            known = {(a.model, a.version): a for a in await drift_states(conn)}
        states = []
        for figures in report["models"]:
            states.append(
                DriftAlert(
                    model=figures["name"],
                    version=figures["version"],
                    active=bool(figures["drift"]["alert"]),
                    reason=reason_for(figures, drift.psi_alert),
                    psi=figures["drift"]["risk_level_psi"],
                    under_triage_rate=figures["under_triage_rate"],
                    referrals=figures["referrals"],
                    reviews=figures["reviews"],
                    since=now,
                )
            )
        due = [s for s in states if self._due(known.get((s.model, s.version)), s, now)]
        crossings: list[DriftAlert] = []
        if due:  # write only what changed, so checks do not compete with intake for writes
            async with self.engine.begin() as conn:
                for state in due:
                    before = known.get((state.model, state.version))
                    if await self._store(conn, before, state, now):
                        crossings.append(state)
            self._written = now
        for crossing in crossings:
            if announce_later:
                task = asyncio.create_task(self._announce(crossing))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
            else:
                await self._announce(crossing)
        return crossings

    def _due(self, before: DriftAlert | None, state: DriftAlert, now: datetime) -> bool:
        """A crossing or a new version now; changed figures once per ``check_seconds``."""
        if before is None or before.active != state.active:
            return True
        changed = (before.psi, before.under_triage_rate, before.referrals, before.reviews) != (
            state.psi,
            state.under_triage_rate,
            state.referrals,
            state.reviews,
        )
        return changed and (now - self._written).total_seconds() >= self.config.drift.check_seconds

    async def _store(
        self, conn: AsyncConnection, before: DriftAlert | None, state: DriftAlert, now: datetime
    ) -> bool:
        """Write ``state``; True when this call made the crossing (and so announces it)."""
        values = {
            "reason": state.reason,
            "psi": state.psi,
            "under_triage_rate": state.under_triage_rate,
            "referrals": state.referrals,
            "reviews": state.reviews,
            "checked_at": now,
        }
        key = (drift_alerts.c.model == state.model, drift_alerts.c.version == state.version)
        if before is None:
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(drift_alerts).values(
                            model=state.model,
                            version=state.version,
                            active=state.active,
                            since=now,
                            **values,
                        )
                    )
            except IntegrityError:
                return False  # another process wrote it first and announces it
            return state.active
        if before.active == state.active:
            await conn.execute(update(drift_alerts).where(*key).values(**values))
            return False
        result = await conn.execute(
            update(drift_alerts)
            .where(*key, drift_alerts.c.active == before.active)
            .values(active=state.active, since=now, **values)
        )
        return result.rowcount == 1

    async def _announce(self, alert: DriftAlert) -> None:
        event = "model.drift_alert" if alert.active else "model.drift_cleared"
        log.warning(
            event,
            model=alert.model,
            version=alert.version,
            reason=alert.reason,
            risk_level_psi=alert.psi,
            under_triage_rate=alert.under_triage_rate,
        )
        if self.notify is None:
            return
        payload = {"type": event.replace("_", "."), "data": alert.to_dict()}
        message_id = f"drift_{alert.model}_{alert.version}_{int(alert.since.timestamp())}"
        try:
            await self.notify.send(message_id, payload)
        except Exception as exc:  # the alert is on record; a webhook failure must not stop checks
            log.error(
                "model.drift_webhook_failed",
                model=alert.model,
                version=alert.version,
                error=type(exc).__name__,
            )

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
        if self.notify is not None:
            await self.notify.aclose()

    async def run(self, stop: asyncio.Event) -> None:
        """Check every ``drift.check_seconds``, or soon after being woken."""
        interval = self.config.drift.check_seconds
        while not stop.is_set():
            try:
                await self.check()
            except Exception as exc:  # keep watching: the next check may succeed
                log.error("model.drift_check_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=interval)
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(2.0, interval))
