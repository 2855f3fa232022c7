"""Prometheus metrics. Counters are kept in process; state gauges (referrals by
status, deliveries by destination and status, dead letters) are read from the
database at scrape time so every worker process reports the same truth. Other rooms
add their own scrape-time readers (``also_refresh``), e.g. the closed loop's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.delivery.status import DeliveryStatus
from gateway.store.tables import deliveries, referrals


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter(
            "gateway_referrals_accepted_total",
            "Triage results accepted as referrals",
            ["risk_level"],
            registry=self.registry,
        )
        self.delivery_outcomes = Counter(
            "gateway_delivery_attempts_total",
            "Delivery attempts by destination and outcome",
            ["destination", "outcome"],
            registry=self.registry,
        )
        self.payloads_refused = Counter(
            "gateway_payloads_refused_total",
            "Delivery payloads the FHIR check refused, by destination and what was done instead",
            ["destination", "action"],
            registry=self.registry,
        )
        self.intake_seconds = Histogram(
            "gateway_intake_seconds",
            "Time to accept a triage result",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.intake_shed = Counter(
            "gateway_intake_shed_total",
            "Triage submissions answered 503 by the admission queue, by priority "
            "(unknown: the queue was full, crisis reserve included, before the body was read)",
            ["priority"],
            registry=self.registry,
        )
        self.intake_rate_limited = Counter(
            "gateway_intake_rate_limited_total",
            "Triage submissions answered 429 for exceeding the client's rate limit",
            ["client_id"],
            registry=self.registry,
        )
        self.referrals_by_status = Gauge(
            "gateway_referrals", "Referrals by status", ["status"], registry=self.registry
        )
        self.deliveries_by_status = Gauge(
            "gateway_deliveries",
            "Deliveries by destination and status",
            ["destination", "status"],
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "gateway_dead_letters",
            "Deliveries dead-lettered and waiting for a person",
            registry=self.registry,
        )
        self.crisis_ack_seconds = Histogram(
            "gateway_crisis_acknowledgement_seconds",
            "Time from a crisis delivery landing to a person acknowledging it",
            ["destination"],
            registry=self.registry,
            buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400),
        )
        self.crisis_sla_breaches = Counter(
            "gateway_crisis_sla_breaches_total",
            "Crisis deliveries found unacknowledged past the acknowledgement SLA",
            ["destination"],
            registry=self.registry,
        )
        self.crisis_escalations = Counter(
            "gateway_crisis_escalations_total",
            "Escalation steps taken for unacknowledged crisis deliveries, by outcome",
            ["destination", "outcome"],
            registry=self.registry,
        )

        self.notifications = Counter(
            "gateway_notification_attempts_total",
            "App webhook and subscription notification attempts by channel, kind and outcome",
            ["channel", "kind", "outcome"],
            registry=self.registry,
        )
        self.stalls = Counter(
            "gateway_referral_stall_alerts_total",
            "Stall alerts raised for referral Tasks not accepted in time",
            ["destination"],
            registry=self.registry,
        )
        self._refreshers: list[Callable[[AsyncConnection], Awaitable[None]]] = []
        self._before: list[Callable[[], Awaitable[None]]] = []

    def also_refresh(
        self,
        refresher: Callable[[AsyncConnection], Awaitable[None]],
        *,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Have ``refresher`` read its gauges from the database on every scrape; ``before``
        runs first, outside the scrape's transaction (e.g. the drift check, which writes)."""
        self._refreshers.append(refresher)
        if before is not None:
            self._before.append(before)

    async def prepare(self) -> None:
        """What must run before the scrape's own connection is opened."""
        for step in self._before:
            await step()

    async def refresh(self, conn: AsyncConnection) -> None:
        self.referrals_by_status.clear()
        for status, count in await conn.execute(
            select(referrals.c.status, func.count()).group_by(referrals.c.status)
        ):
            self.referrals_by_status.labels(status).set(count)
        self.deliveries_by_status.clear()
        dead = 0
        for destination, status, count in await conn.execute(
            select(deliveries.c.destination, deliveries.c.status, func.count()).group_by(
                deliveries.c.destination, deliveries.c.status
            )
        ):
            self.deliveries_by_status.labels(destination, status).set(count)
            dead += count if status == DeliveryStatus.DEAD else 0
        self.dead_letters.set(dead)
        for refresher in self._refreshers:
            await refresher(conn)

    def render(self) -> bytes:
        return generate_latest(self.registry)
