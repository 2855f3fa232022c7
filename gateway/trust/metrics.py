"""Prometheus gauges of model trust, read from the database at scrape time so every
process reports the same: the drift state of each version (checked at the scrape) and
the clinicians' reviews by agreement."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.logging import get_logger
from gateway.store.tables_trust import reviews
from gateway.trust.drift import DriftMonitor, drift_states
from gateway.trust.figures import triage_direction

_LABELS = ["model", "version"]
log = get_logger("gateway.trust.metrics")


class TrustMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.monitor: DriftMonitor | None = None
        """When set, each scrape checks drift first, so the alert gauge is never stale."""
        self.drift_alert = Gauge(
            "gateway_model_drift_alert",
            "1 while a model version's drift alert is on (PSI or under-triage), else 0",
            _LABELS,
            registry=registry,
        )
        self.psi = Gauge(
            "gateway_model_risk_level_psi",
            "PSI of the version's risk-level mix against its card, over the drift window",
            _LABELS,
            registry=registry,
        )
        self.referrals = Gauge(
            "gateway_model_window_referrals",
            "Referrals from the version over the drift window",
            _LABELS,
            registry=registry,
        )
        self.under_triage = Gauge(
            "gateway_model_under_triage_rate",
            "Share of clinicians' reviews over the drift window that rated the risk higher",
            _LABELS,
            registry=registry,
        )
        self.reviews = Gauge(
            "gateway_model_reviews",
            "Clinicians' reviews (latest of each reviewer) by agreement with the model",
            [*_LABELS, "agreement"],
            registry=registry,
        )

    async def check_drift(self) -> None:
        """Check drift now, on the monitor's own connections (before the scrape's own
        connection begins: on SQLite every transaction takes the write lock)."""
        if self.monitor is None:
            return
        try:
            await self.monitor.check(announce_later=True)
        except Exception as exc:  # the scrape still answers, with the last state on record
            log.error("model.drift_check_failed", error=type(exc).__name__)

    async def refresh(self, conn: AsyncConnection) -> None:
        for gauge in (self.drift_alert, self.psi, self.referrals, self.under_triage, self.reviews):
            gauge.clear()
        states = await drift_states(conn)
        for state in states:
            labels = (state.model, state.version)
            self.drift_alert.labels(*labels).set(1 if state.active else 0)
            self.referrals.labels(*labels).set(state.referrals)
            if state.psi is not None:
                self.psi.labels(*labels).set(state.psi)
            if state.under_triage_rate is not None:
                self.under_triage.labels(*labels).set(state.under_triage_rate)
        tally: dict[tuple[str, str, str], int] = {}
        for model, version, ai, human, count in await conn.execute(
            select(
                reviews.c.model_name,
                reviews.c.model_version,
                reviews.c.ai_risk_level,
                reviews.c.risk_level,
                func.count(),
            ).group_by(
                reviews.c.model_name,
                reviews.c.model_version,
                reviews.c.ai_risk_level,
                reviews.c.risk_level,
            )
        ):
            key = (model, version, triage_direction(ai, human))
            tally[key] = tally.get(key, 0) + count
        for (model, version, direction), count in tally.items():
            self.reviews.labels(model, version, direction).set(count)
