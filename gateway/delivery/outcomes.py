"""What a delivery came to, written on one transaction with everything that follows.

Delivered: receipt, Task published, disclosure audited. Transient failure: back in the
queue after a backoff (``RetryPolicy``) until ``max_attempts``. Permanent failure or
attempts used up: dead-lettered for a person. Withheld (consent) or cancelled (the
requester cancelled the Task first): nothing goes out, and the Task says why. An outcome
is only written while the claim's lease still holds; the referral's status follows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.base import DeliveryError, Receipt, TransientDeliveryError
from consent.engine import Decision
from gateway.audit.recorder import AuditRecorder
from gateway.context import Clock
from gateway.delivery.claim import Claim
from gateway.delivery.lease import LeasedQueue
from gateway.delivery.publish import publish_task, set_task_status
from gateway.delivery.referral_status import refresh_after_delivery
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.status import AttemptOutcome, DeliveryStatus
from gateway.logging import get_logger
from gateway.metrics import Metrics

log = get_logger("gateway.delivery")
WITHHELD_TASK_REASON = "Consent no longer allows sending it."
CANCELLED_REASON = "The referral was cancelled before it was sent."


class DeliveryOutcomes:
    def __init__(
        self,
        engine: AsyncEngine,
        queue: LeasedQueue,
        *,
        clock: Clock,
        audit: AuditRecorder,
        policy: RetryPolicy,
    ) -> None:
        self.engine = engine
        self.queue = queue
        self.clock = clock
        self.audit = audit
        self.policy = policy
        self.metrics: Metrics | None = None
        """Set by the composition root; counts attempts (``gateway_delivery_attempts_total``)."""

    async def abandon(self, conn: AsyncConnection, row: Any, now: datetime) -> None:
        """Dead-letter a delivery whose lease ran out ``max_attempts`` times unanswered."""
        reason = (
            f"no outcome after {row.attempts} claims: the worker stopped while delivering each time"
        )
        await self.queue.settle(conn, row.id, DeliveryStatus.DEAD, now, last_error=reason)
        await self.queue.log_attempt(
            conn,
            row.id,
            row.attempts,
            AttemptOutcome.PERMANENT,
            reason,
            started_at=row.updated_at,
            finished_at=now,
        )
        await refresh_after_delivery(conn, row.referral_id, now)
        log.warning(
            "delivery.dead_lettered",
            delivery_id=row.id,
            destination=row.destination,
            attempts=row.attempts,
        )

    async def withhold(self, claim: Claim, verdict: Decision, started: datetime) -> None:
        now = self.clock()
        async with self.engine.begin() as conn:
            if not await self.queue.still_ours(conn, claim.delivery_id, claim.attempts):
                return
            await self.queue.settle(
                conn, claim.delivery_id, DeliveryStatus.WITHHELD, now, last_error=verdict.reason
            )
            await self._attempt(conn, claim, started, now, AttemptOutcome.WITHHELD, verdict.reason)
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
                await set_task_status(
                    conn, claim.referral_id, claim.task_id, "cancelled", WITHHELD_TASK_REASON, now
                )
            await refresh_after_delivery(conn, claim.referral_id, now)
        log.info("delivery.withheld", delivery_id=claim.delivery_id, referral_id=claim.referral_id)

    async def cancelled(self, claim: Claim, started: datetime) -> None:
        """The requester cancelled the Task before it was sent: nothing goes out."""
        now = self.clock()
        async with self.engine.begin() as conn:
            if not await self.queue.still_ours(conn, claim.delivery_id, claim.attempts):
                return
            await self.queue.settle(
                conn, claim.delivery_id, DeliveryStatus.CANCELLED, now, last_error=CANCELLED_REASON
            )
            await self._attempt(
                conn, claim, started, now, AttemptOutcome.WITHHELD, CANCELLED_REASON
            )
            await refresh_after_delivery(conn, claim.referral_id, now)
        log.info("delivery.cancelled", delivery_id=claim.delivery_id, referral_id=claim.referral_id)

    async def finish(
        self,
        claim: Claim,
        started: datetime,
        result: Receipt | DeliveryError,
        verdict: Decision | None = None,
    ) -> None:
        now = self.clock()
        async with self.engine.begin() as conn:
            if not await self.queue.still_ours(conn, claim.delivery_id, claim.attempts):
                log.warning("delivery.lease_lost", delivery_id=claim.delivery_id)
                return
            if isinstance(result, Receipt):
                await self._delivered(conn, claim, started, now, result, verdict)
            elif isinstance(result, TransientDeliveryError) and (
                claim.attempts < self.policy.max_attempts
            ):
                await self._retry_later(conn, claim, started, now, result)
            else:
                await self.queue.settle(
                    conn, claim.delivery_id, DeliveryStatus.DEAD, now, last_error=result.reason
                )
                await self._attempt(
                    conn, claim, started, now, AttemptOutcome.PERMANENT, result.reason
                )
                log.warning(
                    "delivery.dead_lettered",
                    delivery_id=claim.delivery_id,
                    destination=claim.destination,
                    attempts=claim.attempts,
                )
            await refresh_after_delivery(conn, claim.referral_id, now)

    async def _retry_later(
        self,
        conn: AsyncConnection,
        claim: Claim,
        started: datetime,
        now: datetime,
        error: TransientDeliveryError,
    ) -> None:
        delay = self.policy.next_delay(
            claim.attempts, crisis=claim.lane == 0, retry_after=error.retry_after
        )
        await self.queue.settle(
            conn,
            claim.delivery_id,
            DeliveryStatus.PENDING,
            now,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=error.reason,
        )
        await self._attempt(conn, claim, started, now, AttemptOutcome.TRANSIENT, error.reason)
        log.info(
            "delivery.retry_scheduled",
            delivery_id=claim.delivery_id,
            attempt=claim.attempts,
            retry_in_s=round(delay, 2),
        )

    async def _delivered(
        self,
        conn: AsyncConnection,
        claim: Claim,
        started: datetime,
        now: datetime,
        receipt: Receipt,
        verdict: Decision | None,
    ) -> None:
        await self.queue.settle(
            conn,
            claim.delivery_id,
            DeliveryStatus.DELIVERED,
            now,
            delivered_at=now,
            last_error=None,
            receipt=orjson.dumps(
                {
                    "remote_ids": receipt.remote_ids,
                    "status_code": receipt.status_code,
                    "detail": receipt.detail,
                }
            ),
        )
        await self._attempt(
            conn,
            claim,
            started,
            now,
            AttemptOutcome.DELIVERED,
            receipt.detail,
            status_code=receipt.status_code,
        )
        if claim.task_id:
            await publish_task(
                conn,
                claim.referral_id,
                claim.task_id,
                now,
                remote_task_id=receipt.remote_ids.get("Task"),
            )
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

    async def _attempt(
        self,
        conn: AsyncConnection,
        claim: Claim,
        started: datetime,
        now: datetime,
        outcome: AttemptOutcome,
        detail: str,
        status_code: int | None = None,
    ) -> None:
        await self.queue.log_attempt(
            conn,
            claim.delivery_id,
            claim.attempts,
            outcome,
            detail,
            started_at=started,
            finished_at=now,
            status_code=status_code,
        )
        if self.metrics is not None:
            self.metrics.delivery_outcomes.labels(claim.destination, str(outcome)).inc()
