"""Closed-loop metrics, read from the Task milestones at scrape time so every process
reports the same truth: Tasks by destination and status, time to acceptance and to
completion (from submission), Tasks stalled now, and SLA breaches (Tasks that were
not accepted within their destination's window, ever).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.referral_loop.milestones import ACCEPTED_OR_LATER
from gateway.referral_loop.task_rules import TERMINAL_STATUSES
from gateway.store.tables_loop import task_milestones

BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0, 2 * 86400.0, 7 * 86400.0)


def histogram_buckets(values: list[float]) -> list[tuple[str, float]]:
    """Cumulative ``le`` buckets (with ``+Inf``) for ``values``."""
    buckets = [(str(bound), float(sum(1 for v in values if v <= bound))) for bound in BUCKETS]
    return [*buckets, ("+Inf", float(len(values)))]


@dataclass
class _Snapshot:
    by_status: dict[tuple[str, str], int] = field(default_factory=dict)
    to_accept: dict[str, list[float]] = field(default_factory=dict)
    to_complete: dict[str, list[float]] = field(default_factory=dict)
    stalled_now: dict[str, int] = field(default_factory=dict)
    breaches: dict[str, int] = field(default_factory=dict)


class LoopMetrics(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._snapshot = _Snapshot()
        registry.register(self)

    async def refresh(self, conn: AsyncConnection) -> None:
        snap = _Snapshot()
        by_status: dict[tuple[str, str], int] = defaultdict(int)
        to_accept: dict[str, list[float]] = defaultdict(list)
        to_complete: dict[str, list[float]] = defaultdict(list)
        stalled_now: dict[str, int] = defaultdict(int)
        breaches: dict[str, int] = defaultdict(int)
        for row in await conn.execute(select(task_milestones)):
            by_status[(row.destination, row.status)] += 1
            if row.accepted_at is not None:
                to_accept[row.destination].append(
                    (row.accepted_at - row.submitted_at).total_seconds()
                )
            if row.completed_at is not None:
                to_complete[row.destination].append(
                    (row.completed_at - row.submitted_at).total_seconds()
                )
            if row.stalled_at is not None:
                breaches[row.destination] += 1
                open_ = row.status not in ACCEPTED_OR_LATER | TERMINAL_STATUSES
                stalled_now[row.destination] += 1 if open_ else 0
        snap.by_status, snap.to_accept, snap.to_complete = by_status, to_accept, to_complete
        snap.stalled_now, snap.breaches = stalled_now, breaches
        self._snapshot = snap

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        tasks = GaugeMetricFamily(
            "gateway_referral_tasks",
            "Referral Tasks by destination and closed-loop status",
            labels=["destination", "status"],
        )
        for (destination, status), count in sorted(snap.by_status.items()):
            tasks.add_metric([destination, status], count)
        yield tasks
        for name, doc, data in (
            ("gateway_time_to_acceptance_seconds", "Submission to acceptance", snap.to_accept),
            ("gateway_time_to_completion_seconds", "Submission to completion", snap.to_complete),
        ):
            family = HistogramMetricFamily(name, doc, labels=["destination"])
            for destination, values in sorted(data.items()):
                family.add_metric([destination], histogram_buckets(values), sum(values))
            yield family
        stalled = GaugeMetricFamily(
            "gateway_referrals_stalled",
            "Referral Tasks not accepted within their window and still waiting",
            labels=["destination"],
        )
        for destination, count in sorted(snap.stalled_now.items()):
            stalled.add_metric([destination], count)
        yield stalled
        breaches = CounterMetricFamily(
            "gateway_referral_sla_breaches",
            "Referral Tasks that were not accepted within their destination's window",
            labels=["destination"],
        )
        for destination, count in sorted(snap.breaches.items()):
            breaches.add_metric([destination], count)
        yield breaches
