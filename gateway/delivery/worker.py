"""The delivery worker: claim a delivery, re-check consent, minimise, deliver, record.

Claims go crisis lane first, then urgent, then routine, through the leased queue
(``gateway.delivery.lease``): a worker that dies mid-delivery leaves a lease that runs
out and the delivery is claimed again (at-least-once; conditional create makes the
replay harmless on a FHIR server). ``run`` keeps a second claim loop for the crisis lane
alone, so a crisis delivery never waits behind a slow routine one. A per-destination
circuit breaker (``gateway.delivery.circuit``) keeps the worker from claiming work for
a destination that keeps failing. docs/delivery.md tells the whole story.

``crash_at`` is a TEST-ONLY hook (``GATEWAY_TEST_CRASH_AT``): the process kills
itself with SIGKILL right after a claim or right after the destination answered,
before the outcome is stored, so tests can prove nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.base import (
    Connector,
    Delivery,
    DeliveryError,
    Receipt,
    TransientDeliveryError,
)
from gateway.audit.recorder import AuditRecorder
from gateway.config import GatewayConfig
from gateway.context import Clock
from gateway.crisis.invalid_payload import check_payload
from gateway.delivery.circuit import CircuitBreaker
from gateway.delivery.claim import Claim, claim_for
from gateway.delivery.consent_recheck import recheck_consent
from gateway.delivery.lease import LeasedQueue
from gateway.delivery.outcomes import DeliveryOutcomes
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.slots import DeliverySlots
from gateway.delivery.status import DeliveryStatus
from gateway.destinations.registry import consent_category
from gateway.fhir_task import with_destination_task
from gateway.intake.service import LANE_CRISIS
from gateway.logging import get_logger
from gateway.metrics import Metrics
from gateway.recipient_view import recipient_links
from gateway.settings import Settings
from gateway.store import fhir_store
from gateway.store.tables import deliveries, delivery_attempts

log = get_logger("gateway.delivery.worker")
CANCELLED_BEFORE_SENDING = frozenset({"cancelled", "entered-in-error"})
LEASE = timedelta(seconds=60)
CrashPoint = Literal["after-claim", "after-deliver"]
CRISIS_LANE_ONLY = (LANE_CRISIS,)


@dataclass(frozen=True)
class WorkerTuning:
    """Lease, circuit breaker and the test-only crash hook, from ``Settings``."""

    lease: timedelta = LEASE
    circuit_failure_threshold: int = 5
    circuit_cool_down_seconds: float = 30.0
    crash_at: CrashPoint | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerTuning:
        return cls(
            lease=timedelta(seconds=settings.worker_lease_seconds),
            circuit_failure_threshold=settings.circuit_failure_threshold,
            circuit_cool_down_seconds=settings.circuit_cool_down_seconds,
            crash_at=settings.test_crash_at,
        )


class DeliveryWorker:

    def __init__(
        self,
        engine: AsyncEngine,
        config: GatewayConfig,
        connectors: dict[str, Connector],
        *,
        clock: Clock,
        audit: AuditRecorder,
        policy: RetryPolicy,
        worker_id: str,
        public_url: str,
        tuning: WorkerTuning | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.connectors = connectors
        self.clock = clock
        self.audit = audit
        self.policy = policy
        self.worker_id = worker_id
        self.public_url = public_url
        tuning = tuning or WorkerTuning()
        self.lease = tuning.lease
        self.crash_at = tuning.crash_at
        self.breaker = breaker or CircuitBreaker(
            clock=time.monotonic,
            failure_threshold=tuning.circuit_failure_threshold,
            cool_down_seconds=tuning.circuit_cool_down_seconds,
        )
        self.slots = DeliverySlots({d.name: d.max_in_flight for d in config.destinations})
        self.queue = LeasedQueue(
            deliveries, delivery_attempts, "delivery_id", self.lease, worker_id
        )
        self.outcomes = DeliveryOutcomes(
            engine, self.queue, clock=clock, audit=audit, policy=policy
        )

    @property
    def metrics(self) -> Metrics | None:
        """Set by the composition root; counts attempts (kept by ``outcomes``) and refused
        payloads."""
        return self.outcomes.metrics

    @metrics.setter
    def metrics(self, value: Metrics | None) -> None:
        self.outcomes.metrics = value

    async def run(
        self, stop: asyncio.Event, poll_seconds: float = 0.5, wake: asyncio.Event | None = None
    ) -> None:
        """Deliver until ``stop`` is set, in two loops side by side: one takes every lane
        in order, the other only the crisis lane, so a crisis delivery never waits behind
        a slow routine one. ``wake`` (set on every accepted referral) ends an idle wait."""
        log.info("worker.started", worker_id=self.worker_id)
        nudges = (asyncio.Event(), asyncio.Event())
        loops = [
            self._loop(stop, poll_seconds, nudges[0], lanes=None),
            self._loop(stop, poll_seconds, nudges[1], lanes=CRISIS_LANE_ONLY),
        ]
        if wake is not None:
            loops.append(_relay(stop, poll_seconds, wake, nudges))
        await asyncio.gather(*loops)
        log.info("worker.stopped", worker_id=self.worker_id)

    async def _loop(
        self,
        stop: asyncio.Event,
        poll_seconds: float,
        nudge: asyncio.Event,
        lanes: tuple[int, ...] | None,
    ) -> None:
        """Claim while there is due work and room (``DeliverySlots``); each claim is
        delivered in its own task, so one destination gets several at once."""
        running: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                nudge.clear()
                try:
                    claim = await self.claim(lanes)
                except Exception as exc:  # e.g. the database is away: keep going, try again
                    log.error(
                        "worker.error", worker_id=self.worker_id, error_type=type(exc).__name__
                    )
                    claim = None
                if claim is not None:
                    self._taken(claim)
                    task = asyncio.create_task(self._deliver_claimed(claim))
                    running.add(task)
                    task.add_done_callback(running.discard)
                    continue
                await _first_of(nudge, running, poll_seconds)
            await asyncio.gather(*running, return_exceptions=True)  # let them finish
        finally:
            for task in running:
                task.cancel()

    async def run_once(self, lanes: tuple[int, ...] | None = None) -> bool:
        """Claim and process one delivery (of ``lanes``, default all); False when none
        was due."""
        claim = await self.claim(lanes)
        if claim is None:
            return False
        self._taken(claim)
        await self._deliver_claimed(claim)
        return True

    def _taken(self, claim: Claim) -> None:
        """Count a claim before the next one is made: its destination's slot, and (past
        an open circuit's cool-down) the single half-open trial."""
        self.slots.taken(claim.destination)
        self.breaker.started(claim.destination)

    async def _deliver_claimed(self, claim: Claim) -> None:
        """Deliver one claim (its slot already taken); a person's referrals to one
        destination one after the other."""
        try:
            self._crash_point("after-claim")
            async with self.slots.in_order(claim.destination, claim.patient_id):
                await self.process(claim)
        except Exception as exc:  # a bug must not strand the claim until its lease ends
            log.error(
                "delivery.worker_error",
                delivery_id=claim.delivery_id,
                error_type=type(exc).__name__,
            )
            failure = TransientDeliveryError(f"the worker failed: {type(exc).__name__}")
            await self.outcomes.finish(claim, self.clock(), failure)
        finally:
            self.breaker.ended(claim.destination)
            self.slots.released(claim.destination)

    def _crash_point(self, point: CrashPoint) -> None:
        if self.crash_at == point:
            log.warning("worker.test_crash", worker_id=self.worker_id, reason_code=point)
            os.kill(os.getpid(), signal.SIGKILL)

    async def drain(self, limit: int = 1000) -> int:
        """Process due deliveries until none is left (tests, ``gateway worker --once``)."""
        done = 0
        while done < limit and await self.run_once():
            done += 1
        return done

    async def claim(self, lanes: tuple[int, ...] | None = None) -> Claim | None:
        """The most urgent due delivery (of ``lanes``, default all), now leased to this
        worker; None when none is due.

        A claim whose lease ran out ``max_attempts`` times without an outcome (the
        worker died on it every time) is dead-lettered instead of being tried forever.
        """
        while True:
            now = self.clock()
            async with self.engine.begin() as conn:
                row = await self.queue.next_due(
                    conn,
                    now,
                    where=self._claimable(lanes),
                    order_by=(deliveries.c.lane, deliveries.c.next_attempt_at),
                )
                if row is None:
                    return None
                if (
                    row.status == DeliveryStatus.DELIVERING
                    and row.attempts >= self.policy.max_attempts
                ):
                    await self.outcomes.abandon(conn, row, now)
                    continue
                attempt = await self.queue.take(conn, row, now)
                return await claim_for(conn, row, attempt)

    def _claimable(self, lanes: tuple[int, ...] | None) -> Any:
        """Of ``lanes`` (default all), not for a destination whose circuit is open, nor
        (but for the crisis lane) one with all its slots taken."""
        conditions = []
        if lanes is not None:
            conditions.append(deliveries.c.lane.in_(lanes))
        blocked = self.breaker.blocked()
        if lanes != CRISIS_LANE_ONLY:  # the crisis loop never waits for a routine slot
            blocked |= self.slots.full()
        if blocked:
            conditions.append(deliveries.c.destination.not_in(sorted(blocked)))
        return and_(*conditions) if conditions else None

    async def process(self, claim: Claim) -> None:
        destination = self.config.destination(claim.destination)
        started = self.clock()
        async with self.engine.connect() as conn:
            consent = await fhir_store.read(conn, "Consent", claim.consent_id or "")
            task = await fhir_store.read(conn, "Task", claim.task_id or "")
        if task is not None and task.body.get("status") in CANCELLED_BEFORE_SENDING:
            await self.outcomes.cancelled(claim, started)
            return
        disclosure = recheck_consent(
            claim, destination, consent.body if consent else None, self.clock
        )
        if not disclosure.permit:
            await self.outcomes.withhold(claim, disclosure.decision, started)
            return
        outbound = disclosure.outbound(claim.bundle)
        if task is not None:
            outbound = with_destination_task(outbound, task.body)
        if claim.attempts == 1:
            checked = check_payload(
                outbound,
                category=consent_category(destination),
                destination=claim.destination,
                referral_id=claim.referral_id,
                delivery_id=claim.delivery_id,
                metrics=self.metrics,
            )
            if checked.refused is not None:
                await self.outcomes.finish(claim, started, checked.refused)
                return
            outbound = checked.bundle
        delivery = Delivery(
            delivery_id=claim.delivery_id,
            referral_id=claim.referral_id,
            destination=claim.destination,
            bundle=outbound,
            attempt=claim.attempts,
            summary=self._summary(claim),
        )
        connector = self.connectors[claim.destination]
        try:
            async for attempt in self.policy.in_claim():
                with attempt:
                    receipt = await connector.deliver(delivery)
        except DeliveryError as exc:
            self._crash_point("after-deliver")
            self._judge_destination(claim.destination, exc)
            await self.outcomes.finish(claim, started, exc)
            return
        self._crash_point("after-deliver")
        self._judge_destination(claim.destination, receipt)
        await self.outcomes.finish(claim, started, receipt, verdict=disclosure.decision)

    def _judge_destination(self, destination: str, result: Receipt | DeliveryError) -> None:
        """Feed the circuit breaker: only a transient failure counts against a destination."""
        if isinstance(result, TransientDeliveryError):
            self.breaker.failed(destination)
        else:
            self.breaker.succeeded(destination)

    def _summary(self, claim: Claim) -> dict[str, Any]:
        return {
            "referral_id": claim.referral_id,
            "risk_level": claim.risk_level,
            "urgency": claim.urgency,
            "accepted_at": claim.accepted_at,
            "links": recipient_links(self.public_url, claim.referral_id, claim.task_id),
        }


async def _first_of(nudge: asyncio.Event, running: set[asyncio.Task[None]], seconds: float) -> None:
    """Wait until ``nudge`` is set, a running delivery ends (room again), or ``seconds``."""
    nudged = asyncio.create_task(nudge.wait())
    try:
        await asyncio.wait({nudged, *running}, timeout=seconds, return_when="FIRST_COMPLETED")
    finally:
        nudged.cancel()


async def _relay(
    stop: asyncio.Event,
    poll_seconds: float,
    wake: asyncio.Event,
    nudges: tuple[asyncio.Event, ...],
) -> None:
    """Pass each ``wake`` on to every loop (each clears its own nudge)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=poll_seconds)
        if wake.is_set():
            wake.clear()
            for nudge in nudges:
                nudge.set()
