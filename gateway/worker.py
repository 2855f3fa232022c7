"""The outbox worker: claim a delivery, re-check consent, minimise, deliver, record.

Claims go crisis lane first, then urgent, then routine. A claim is a lease: a
worker that dies mid-delivery leaves a lease that runs out, and the delivery is
claimed again (at-least-once; conditional create makes the replay harmless on a
FHIR server). On PostgreSQL several workers claim side by side with
``FOR UPDATE SKIP LOCKED``; on SQLite ``BEGIN IMMEDIATE`` serialises claims.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.base import (
    Connector,
    Delivery,
    DeliveryError,
    PermanentDeliveryError,
    Receipt,
    TransientDeliveryError,
)
from consent.engine import Decision, DecisionRequest, Recipient, decide
from consent.minimise import minimise
from consent.vocab import destination_category
from gateway.audit.recorder import AuditRecorder
from gateway.config import AnyDestination, GatewayConfig
from gateway.context import Clock
from gateway.intake.service import data_labels
from gateway.logging import get_logger
from gateway.notify import task_changed
from gateway.retry import RetryPolicy
from gateway.store import fhir_store
from gateway.store.tables import deliveries, delivery_attempts, referrals
from gateway.tasks import DESTINATION_SYSTEM
from mappings.validation import validate_bundle

log = get_logger("gateway.worker")
LEASE = timedelta(seconds=60)


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
    ) -> None:
        self.engine = engine
        self.config = config
        self.connectors = connectors
        self.clock = clock
        self.audit = audit
        self.policy = policy
        self.worker_id = worker_id
        self.public_url = public_url

    async def run(self, stop: asyncio.Event, poll_seconds: float = 0.5) -> None:
        log.info("worker.started", worker_id=self.worker_id)
        while not stop.is_set():
            try:
                worked = await self.run_once()
            except Exception:  # a poison row must not kill the worker
                log.exception("worker.error", worker_id=self.worker_id)
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        log.info("worker.stopped", worker_id=self.worker_id)

    async def run_once(self) -> bool:
        """Claim and process one delivery; False when nothing was due."""
        claim = await self.claim()
        if claim is None:
            return False
        await self.process(claim)
        return True

    async def drain(self, limit: int = 1000) -> int:
        """Process due deliveries until none is left (tests, ``gateway worker --once``)."""
        done = 0
        while done < limit and await self.run_once():
            done += 1
        return done

    async def claim(self) -> Claim | None:
        now = self.clock()
        due = or_(
            and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now),
            and_(deliveries.c.status == "delivering", deliveries.c.lease_until < now),
        )
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(deliveries)
                    .where(due)
                    .order_by(deliveries.c.lane, deliveries.c.next_attempt_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                return None
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == row.id)
                .values(
                    status="delivering",
                    lease_until=now + LEASE,
                    claimed_by=self.worker_id,
                    attempts=row.attempts + 1,
                    updated_at=now,
                )
            )
            ref = (
                await conn.execute(select(referrals).where(referrals.c.id == row.referral_id))
            ).one()
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
            outbound = _with_task(outbound, task.body)
        if claim.attempts == 1:
            problems = validate_bundle(outbound)
            if problems:
                await self._finish(
                    claim, started, PermanentDeliveryError("not valid FHIR: " + problems[0])
                )
                return
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
            await self._finish(claim, started, exc)
            return
        await self._finish(claim, started, receipt, verdict=verdict)

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
            "links": {"referral": f"{self.public_url}/referrals/{claim.referral_id}"},
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
            await _refresh_referral_status(conn, claim.referral_id, now)
        log.info("delivery.withheld", delivery_id=claim.delivery_id, referral_id=claim.referral_id)

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
            await _refresh_referral_status(conn, claim.referral_id, now)

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


def _with_task(bundle: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """Add the destination's Task; its owner travels as an identifier, not a local reference."""
    body = {k: v for k, v in task.items() if k not in {"id", "meta"}}
    owner = task.get("owner") or {}
    body["owner"] = {k: v for k, v in owner.items() if k != "reference"} or {
        "identifier": {"system": DESTINATION_SYSTEM, "value": "unknown"}
    }
    identifier = task["identifier"][0]
    local_refs = {
        f"{e['resource']['resourceType']}/{e['fullUrl'].removeprefix('urn:uuid:')}": e["fullUrl"]
        for e in bundle.get("entry", [])
    }
    body = fhir_store.rewrite_references(body, local_refs)
    entry = {
        "fullUrl": f"urn:uuid:{task['id']}",
        "resource": body,
        "request": {
            "method": "POST",
            "url": "Task",
            "ifNoneExist": f"identifier={identifier['system']}|{identifier['value']}",
        },
    }
    return {**bundle, "entry": [*bundle.get("entry", []), entry]}


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


async def _refresh_referral_status(conn: AsyncConnection, referral_id: str, now: datetime) -> None:
    statuses = [
        row[0]
        for row in await conn.execute(
            select(deliveries.c.status).where(deliveries.c.referral_id == referral_id)
        )
    ]
    await conn.execute(
        update(referrals)
        .where(referrals.c.id == referral_id)
        .values(status=referral_status(statuses), updated_at=now)
    )


def referral_status(delivery_statuses: list[str]) -> str:
    """The referral's delivery status, derived from its deliveries."""
    done = {"delivered", "withheld", "dead"}
    if any(s == "dead" for s in delivery_statuses):
        return "needs-attention"
    if all(s == "withheld" for s in delivery_statuses):
        return "withheld"
    if all(s in done for s in delivery_statuses):
        return "delivered"
    if any(s == "delivered" for s in delivery_statuses):
        return "partially-delivered"
    return "accepted"
