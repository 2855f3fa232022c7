"""The outbox worker: claim a delivery, re-check consent, minimise, deliver, record.

Claims go crisis lane first, then urgent, then routine. A claim is a lease: a
worker that dies mid-delivery leaves a lease that runs out, and the delivery is
claimed again (at-least-once; conditional create makes the replay harmless on a
FHIR server). On PostgreSQL several workers claim side by side with
``FOR UPDATE SKIP LOCKED``; on SQLite ``BEGIN IMMEDIATE`` serialises claims.
``run`` keeps a second claim loop for the crisis lane alone, so a crisis delivery
never waits behind a slow routine one. A per-destination circuit breaker
(``gateway.circuit``) keeps the worker from claiming work for a destination that
keeps failing. docs/delivery.md tells the whole story.

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
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.base import (
    Connector,
    Delivery,
    DeliveryError,
    Receipt,
    TransientDeliveryError,
)
from consent.engine import Decision, DecisionRequest, Recipient, decide
from consent.minimise import minimise
from consent.vocab import destination_category
from gateway.audit.recorder import AuditRecorder
from gateway.circuit import CircuitBreaker
from gateway.config import AnyDestination, GatewayConfig
from gateway.context import Clock
from gateway.crisis.invalid_payload import check_payload
from gateway.intake.service import LANE_CRISIS, data_labels
from gateway.logging import get_logger
from gateway.loop.referral_status import refresh_after_delivery
from gateway.metrics import Metrics
from gateway.notify import task_changed
from gateway.recipient_view import recipient_links
from gateway.retry import RetryPolicy
from gateway.settings import Settings
from gateway.store import fhir_store
from gateway.store.tables import deliveries, delivery_attempts, referrals
from gateway.tasks import with_destination_task

log = get_logger("gateway.worker")
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


@dataclass(frozen=True)
class Claim:
    delivery_id: str
    referral_id: str
    destination: str
    lane: int
    attempts: int
    purpose: str
    task_id: str | None
    patient_id: str
    client_id: str
    risk_level: str
    urgency: str
    consent_id: str | None
    accepted_at: str
    bundle: dict[str, Any]


class DeliveryWorker:
    metrics: Metrics | None = None
    """Set by the composition root; counts attempts and refused payloads."""

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
        while not stop.is_set():
            nudge.clear()
            try:
                worked = await self.run_once(lanes)
            except Exception as exc:  # e.g. the database is away: keep going, try again
                log.error("worker.error", worker_id=self.worker_id, error_type=type(exc).__name__)
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(nudge.wait(), timeout=poll_seconds)

    async def run_once(self, lanes: tuple[int, ...] | None = None) -> bool:
        """Claim and process one delivery (of ``lanes``, default all); False when none
        was due."""
        claim = await self.claim(lanes)
        if claim is None:
            return False
        self._crash_point("after-claim")
        self.breaker.started(claim.destination)
        try:
            await self.process(claim)
        except Exception as exc:  # a bug must not strand the claim until its lease runs out
            log.error(
                "delivery.worker_error",
                delivery_id=claim.delivery_id,
                error_type=type(exc).__name__,
            )
            failure = TransientDeliveryError(f"the worker failed: {type(exc).__name__}")
            await self._finish(claim, self.clock(), failure)
        finally:
            self.breaker.ended(claim.destination)
        return True

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
                row = await self._next_due(conn, now, lanes)
                if row is None:
                    return None
                if row.status == "delivering" and row.attempts >= self.policy.max_attempts:
                    await self._abandon(conn, row, now)
                    continue
                return await self._take(conn, row, now)

    async def _next_due(
        self, conn: AsyncConnection, now: datetime, lanes: tuple[int, ...] | None
    ) -> Any:
        due = or_(
            and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now),
            and_(deliveries.c.status == "delivering", deliveries.c.lease_until < now),
        )
        if lanes is not None:
            due = and_(due, deliveries.c.lane.in_(lanes))
        blocked = self.breaker.blocked()
        if blocked:
            due = and_(due, deliveries.c.destination.not_in(sorted(blocked)))
        return (
            await conn.execute(
                select(deliveries)
                .where(due)
                .order_by(deliveries.c.lane, deliveries.c.next_attempt_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()

    async def _abandon(self, conn: AsyncConnection, row: Any, now: datetime) -> None:
        reason = (
            f"no outcome after {row.attempts} claims: the worker stopped while delivering each time"
        )
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id == row.id)
            .values(status="dead", lease_until=None, last_error=reason, updated_at=now)
        )
        await conn.execute(
            insert(delivery_attempts).values(
                delivery_id=row.id,
                attempt=row.attempts,
                started_at=row.updated_at,
                finished_at=now,
                outcome="permanent",
                detail=reason,
            )
        )
        await refresh_after_delivery(conn, row.referral_id, now)
        log.warning(
            "delivery.dead_lettered",
            delivery_id=row.id,
            destination=row.destination,
            attempts=row.attempts,
        )

    async def _take(self, conn: AsyncConnection, row: Any, now: datetime) -> Claim:
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id == row.id)
            .values(
                status="delivering",
                lease_until=now + self.lease,
                claimed_by=self.worker_id,
                attempts=row.attempts + 1,
                updated_at=now,
            )
        )
        ref = (await conn.execute(select(referrals).where(referrals.c.id == row.referral_id))).one()
        return Claim(
            delivery_id=row.id,
            referral_id=row.referral_id,
            destination=row.destination,
            lane=row.lane,
            attempts=row.attempts + 1,
            purpose=row.purpose,
            task_id=row.task_id,
            patient_id=ref.patient_id,
            client_id=ref.client_id,
            risk_level=ref.risk_level,
            urgency=ref.urgency,
            consent_id=ref.consent_id,
            accepted_at=ref.created_at.isoformat().replace("+00:00", "Z"),
            bundle=orjson.loads(ref.bundle),
        )

    async def process(self, claim: Claim) -> None:
        destination = self.config.destination(claim.destination)
        started = self.clock()
        async with self.engine.connect() as conn:
            consent = await fhir_store.read(conn, "Consent", claim.consent_id or "")
            task = await fhir_store.read(conn, "Task", claim.task_id or "")
        if task is not None and task.body.get("status") in CANCELLED_BEFORE_SENDING:
            await self._cancelled(claim, started)
            return
        verdict = self._recheck(claim, destination, consent.body if consent else None)
        if not verdict.permit:
            await self._withhold(claim, verdict, started)
            return
        outbound = minimise(
            claim.bundle,
            destination_category(destination.type, destination.consent_category),
            list(verdict.obligations),
        )
        if task is not None:
            outbound = with_destination_task(outbound, task.body)
        if claim.attempts == 1:
            checked = check_payload(
                outbound,
                category=destination_category(destination.type, destination.consent_category),
                destination=claim.destination,
                referral_id=claim.referral_id,
                delivery_id=claim.delivery_id,
                metrics=self.metrics,
            )
            if checked.refused is not None:
                await self._finish(claim, started, checked.refused)
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
            await self._finish(claim, started, exc)
            return
        self._crash_point("after-deliver")
        self._judge_destination(claim.destination, receipt)
        await self._finish(claim, started, receipt, verdict=verdict)

    def _judge_destination(self, destination: str, result: Receipt | DeliveryError) -> None:
        """Feed the circuit breaker: only a transient failure counts against a destination."""
        if isinstance(result, TransientDeliveryError):
            self.breaker.failed(destination)
        else:
            self.breaker.succeeded(destination)

    def _recheck(
        self, claim: Claim, destination: AnyDestination, consent: dict[str, Any] | None
    ) -> Decision:
        """Consent is decided again just before every delivery (a revocation stops it)."""
        return decide(
            [consent] if consent else [],
            DecisionRequest(
                recipient=Recipient(
                    category=destination_category(destination.type, destination.consent_category),
                    name=destination.name,
                ),
                purpose="TREAT",
                data_labels=data_labels(claim.bundle),
                data_classes=frozenset(
                    r["resourceType"] for r in fhir_store.resources_of(claim.bundle)
                ),
                risk_level=claim.risk_level,
            ),
            self.clock(),
        )

    def _summary(self, claim: Claim) -> dict[str, Any]:
        return {
            "referral_id": claim.referral_id,
            "risk_level": claim.risk_level,
            "urgency": claim.urgency,
            "accepted_at": claim.accepted_at,
            "links": recipient_links(self.public_url, claim.referral_id, claim.task_id),
        }

    async def _withhold(self, claim: Claim, verdict: Decision, started: datetime) -> None:
        now = self.clock()
        async with self.engine.begin() as conn:
            if not await self._still_ours(conn, claim):
                return
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == claim.delivery_id)
                .values(
                    status="withheld", last_error=verdict.reason, updated_at=now, lease_until=None
                )
            )
            await self._attempt(conn, claim, started, now, "withheld", None, verdict.reason)
            await self.audit.consent_decision(
                conn,
                verdict,
                referral_id=claim.referral_id,
                patient_id=claim.patient_id,
                recipient=claim.destination,
                client_id=claim.client_id,
                now=now,
            )
            if claim.task_id:
                await _set_task_status(
                    conn,
                    claim.referral_id,
                    claim.task_id,
                    "cancelled",
                    "Consent no longer allows sending it.",
                    now,
                )
            await refresh_after_delivery(conn, claim.referral_id, now)
        log.info("delivery.withheld", delivery_id=claim.delivery_id, referral_id=claim.referral_id)

    async def _cancelled(self, claim: Claim, started: datetime) -> None:
        """The requester cancelled the Task before it was sent: nothing goes out."""
        now = self.clock()
        reason = "The referral was cancelled before it was sent."
        async with self.engine.begin() as conn:
            if not await self._still_ours(conn, claim):
                return
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == claim.delivery_id)
                .values(status="cancelled", last_error=reason, updated_at=now, lease_until=None)
            )
            await self._attempt(conn, claim, started, now, "withheld", None, reason)
            await refresh_after_delivery(conn, claim.referral_id, now)
        log.info("delivery.cancelled", delivery_id=claim.delivery_id, referral_id=claim.referral_id)

    async def _finish(
        self,
        claim: Claim,
        started: datetime,
        result: Receipt | DeliveryError,
        verdict: Decision | None = None,
    ) -> None:
        now = self.clock()
        async with self.engine.begin() as conn:
            if not await self._still_ours(conn, claim):
                log.warning("delivery.lease_lost", delivery_id=claim.delivery_id)
                return
            if isinstance(result, Receipt):
                await self._delivered(conn, claim, started, now, result, verdict)
            elif isinstance(result, TransientDeliveryError) and (
                claim.attempts < self.policy.max_attempts
            ):
                delay = self.policy.next_delay(
                    claim.attempts, crisis=claim.lane == 0, retry_after=result.retry_after
                )
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == claim.delivery_id)
                    .values(
                        status="pending",
                        next_attempt_at=now + timedelta(seconds=delay),
                        lease_until=None,
                        last_error=result.reason,
                        updated_at=now,
                    )
                )
                await self._attempt(conn, claim, started, now, "transient", None, result.reason)
                log.info(
                    "delivery.retry_scheduled",
                    delivery_id=claim.delivery_id,
                    attempt=claim.attempts,
                    retry_in_s=round(delay, 2),
                )
            else:
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == claim.delivery_id)
                    .values(
                        status="dead", lease_until=None, last_error=result.reason, updated_at=now
                    )
                )
                await self._attempt(conn, claim, started, now, "permanent", None, result.reason)
                log.warning(
                    "delivery.dead_lettered",
                    delivery_id=claim.delivery_id,
                    destination=claim.destination,
                    attempts=claim.attempts,
                )
            await refresh_after_delivery(conn, claim.referral_id, now)

    async def _delivered(
        self,
        conn: AsyncConnection,
        claim: Claim,
        started: datetime,
        now: datetime,
        receipt: Receipt,
        verdict: Decision | None,
    ) -> None:
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id == claim.delivery_id)
            .values(
                status="delivered",
                lease_until=None,
                delivered_at=now,
                updated_at=now,
                last_error=None,
                receipt=orjson.dumps(
                    {
                        "remote_ids": receipt.remote_ids,
                        "status_code": receipt.status_code,
                        "detail": receipt.detail,
                    }
                ),
            )
        )
        await self._attempt(
            conn, claim, started, now, "delivered", receipt.status_code, receipt.detail
        )
        if claim.task_id:
            await _publish_task(conn, claim.referral_id, claim.task_id, receipt, now)
        await self.audit.disclosure(
            conn,
            referral_id=claim.referral_id,
            patient_id=claim.patient_id,
            recipient=claim.destination,
            purpose=claim.purpose,
            emergency=bool(verdict and verdict.emergency),
            client_id=claim.client_id,
            now=now,
        )
        log.info(
            "delivery.delivered",
            delivery_id=claim.delivery_id,
            destination=claim.destination,
            attempt=claim.attempts,
        )

    async def _still_ours(self, conn: AsyncConnection, claim: Claim) -> bool:
        row = (
            await conn.execute(
                select(deliveries.c.status, deliveries.c.claimed_by, deliveries.c.attempts)
                .where(deliveries.c.id == claim.delivery_id)
                .with_for_update()
            )
        ).one()
        return bool(
            row.status == "delivering"
            and row.claimed_by == self.worker_id
            and row.attempts == claim.attempts
        )

    async def _attempt(
        self,
        conn: AsyncConnection,
        claim: Claim,
        started: datetime,
        now: datetime,
        outcome: str,
        status_code: int | None,
        detail: str,
    ) -> None:
        await conn.execute(
            insert(delivery_attempts).values(
                delivery_id=claim.delivery_id,
                attempt=claim.attempts,
                started_at=started,
                finished_at=now,
                outcome=outcome,
                status_code=status_code,
                detail=detail[:2000],
            )
        )
        if self.metrics is not None:
            self.metrics.delivery_outcomes.labels(claim.destination, outcome).inc()


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


async def _publish_task(
    conn: AsyncConnection, referral_id: str, task_id: str, receipt: Receipt, now: datetime
) -> None:
    stored = await fhir_store.read(conn, "Task", task_id)
    if stored is None or stored.published:
        return
    body = dict(stored.body)
    remote = receipt.remote_ids.get("Task")
    if remote and not any(
        i.get("system") == "urn:referral-gateway:remote-task" for i in body.get("identifier", [])
    ):
        body["identifier"] = [
            *body.get("identifier", []),
            {"system": "urn:referral-gateway:remote-task", "value": remote},
        ]
    updated = await fhir_store.update_resource(
        conn, body, now=now, expected_version=stored.version_id, published=True
    )
    if updated is not None:
        await task_changed(
            conn, referral_id=referral_id, task=updated, previous_status=None, now=now
        )


async def _set_task_status(
    conn: AsyncConnection,
    referral_id: str,
    task_id: str,
    status: str,
    reason: str,
    now: datetime,
) -> None:
    stored = await fhir_store.read(conn, "Task", task_id)
    if stored is None:
        return
    body = {
        **stored.body,
        "status": status,
        "statusReason": {"text": reason},
        "lastModified": now.isoformat().replace("+00:00", "Z"),
    }
    updated = await fhir_store.update_resource(
        conn, body, now=now, expected_version=stored.version_id
    )
    if updated is not None:
        await task_changed(
            conn,
            referral_id=referral_id,
            task=updated,
            previous_status=stored.body.get("status"),
            now=now,
        )
