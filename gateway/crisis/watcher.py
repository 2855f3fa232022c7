"""The escalation watcher: no crisis delivery stays unacknowledged in silence.

Each pass (``run_once(now)``) finds crisis deliveries that were delivered or
dead-lettered and not acknowledged, asks ``gateway.crisis.policy`` whether a step
is due, and takes it: a signed webhook to the next escalation contact, or, when the
destination has no contacts, an alert to the operators. Every step is recorded
(``escalations``), audited, counted and logged as ``crisis.unacknowledged``.

A step is claimed by inserting its row first (unique per delivery and step), so
several watchers against one database never send the same step twice. A step whose
row stays ``sending`` (the process died mid-send) counts as sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.base import DeliveryError
from gateway.audit.recorder import AuditRecorder
from gateway.config import CrisisDestination, GatewayConfig
from gateway.context import Clock
from gateway.crisis.policy import PastStep, PlannedStep, Unacknowledged, next_step
from gateway.crisis.ports import EscalationMessage, EscalationPort
from gateway.delivery.status import DeliveryStatus
from gateway.logging import get_logger
from gateway.metrics import Metrics
from gateway.store.tables import deliveries, referrals
from gateway.store.tables_crisis import crisis_acknowledgements, escalations

log = get_logger("gateway.crisis")
ALERT_CONTACT = "operators (crisis desk alert)"


@dataclass(frozen=True)
class _Candidate:
    delivery_id: str
    referral_id: str
    patient_id: str
    destination: CrisisDestination
    pending: Unacknowledged


class CrisisWatcher:
    """Escalates unacknowledged crisis deliveries; ``ports`` maps destination -> sender."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: GatewayConfig,
        *,
        ports: Mapping[str, EscalationPort],
        audit: AuditRecorder,
        metrics: Metrics,
        clock: Clock,
        public_url: str,
        poll_seconds: float = 5.0,
    ) -> None:
        missing = [
            d.name for d in config.crisis_destinations if d.escalation and d.name not in ports
        ]
        if missing:
            raise ValueError(f"no escalation sender for crisis destination(s): {missing}")
        self.engine = engine
        self.destinations = {d.name: d for d in config.crisis_destinations}
        self.ports = dict(ports)
        self.audit = audit
        self.metrics = metrics
        self.clock = clock
        self.public_url = public_url
        self.poll_seconds = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop`` is set; an error in one pass never ends the loop."""
        while not stop.is_set():
            try:
                await self.run_once(self.clock())
            except Exception:  # the watcher must outlive any one bad pass
                log.exception("crisis.watcher_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)

    async def run_once(self, now: datetime) -> int:
        """Take every step due at ``now``; returns how many were taken."""
        taken = 0
        for candidate in await self._candidates():
            destination = candidate.destination
            planned = next_step(
                candidate.pending,
                sla=timedelta(seconds=destination.ack_sla_seconds),
                contacts=len(destination.escalation),
                now=now,
            )
            if planned is None:
                continue
            try:
                if await self._take(candidate, planned, now):
                    taken += 1
            except Exception:  # one broken step must not starve the others
                log.exception(
                    "crisis.escalation_error",
                    referral_id=candidate.referral_id,
                    delivery_id=candidate.delivery_id,
                )
        return taken

    async def aclose(self) -> None:
        for port in self.ports.values():
            await port.aclose()

    async def _candidates(self) -> list[_Candidate]:
        acknowledged = select(crisis_acknowledgements.c.delivery_id).where(
            crisis_acknowledgements.c.delivery_id == deliveries.c.id
        )
        query = (
            select(
                deliveries.c.id,
                deliveries.c.referral_id,
                deliveries.c.destination,
                deliveries.c.status,
                deliveries.c.delivered_at,
                deliveries.c.updated_at,
                referrals.c.patient_id,
            )
            .join(referrals, referrals.c.id == deliveries.c.referral_id)
            .where(
                deliveries.c.destination.in_(list(self.destinations)),
                deliveries.c.status.in_([DeliveryStatus.DELIVERED, DeliveryStatus.DEAD]),
                ~acknowledged.exists(),
            )
            .order_by(deliveries.c.created_at)
        )
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query))
            history: dict[str, list[PastStep]] = {}
            if rows:
                for step in await conn.execute(
                    select(
                        escalations.c.delivery_id,
                        escalations.c.step,
                        escalations.c.at,
                        escalations.c.outcome,
                    )
                    .where(escalations.c.delivery_id.in_([r.id for r in rows]))
                    .order_by(escalations.c.step)
                ):
                    history.setdefault(step.delivery_id, []).append(
                        PastStep(step.step, step.at, step.outcome)
                    )
        return [
            _Candidate(
                delivery_id=row.id,
                referral_id=row.referral_id,
                patient_id=row.patient_id,
                destination=self.destinations[row.destination],
                pending=Unacknowledged(
                    dead=row.status == DeliveryStatus.DEAD,
                    since=row.updated_at
                    if row.status == DeliveryStatus.DEAD
                    else row.delivered_at or row.updated_at,
                    history=tuple(history.get(row.id, [])),
                ),
            )
            for row in rows
        ]

    async def _take(self, candidate: _Candidate, planned: PlannedStep, now: datetime) -> bool:
        destination = candidate.destination
        contact = (
            destination.escalation[planned.contact_index]
            if planned.contact_index is not None
            else None
        )
        claimed = await self._claim(candidate, planned, contact.name if contact else None, now)
        if not claimed:
            return False
        if planned.reason == "sla":
            self.metrics.crisis_sla_breaches.labels(destination.name).inc()
        if contact is None:
            outcome = "alerted"
        else:
            message = EscalationMessage(
                message_id=f"esc_{candidate.delivery_id}_{planned.step}",
                referral_id=candidate.referral_id,
                step=planned.step,
                contact_name=contact.name,
                contact_url=contact.webhook,
                unacknowledged_seconds=planned.unacknowledged_seconds,
                links=self._links(candidate.referral_id),
            )
            outcome = await self._send(candidate, planned, message)
        self.metrics.crisis_escalations.labels(destination.name, outcome).inc()
        log.warning(
            "crisis.unacknowledged",
            referral_id=candidate.referral_id,
            delivery_id=candidate.delivery_id,
            destination=destination.name,
            attempt=planned.step,
            reason_code=planned.reason,
            outcome=outcome,
        )
        return True

    async def _claim(
        self, candidate: _Candidate, planned: PlannedStep, contact: str | None, now: datetime
    ) -> bool:
        """Insert the step's row (and, for an alert, its audit entry) unless already taken."""
        try:
            async with self.engine.begin() as conn:
                acknowledged = (
                    await conn.execute(
                        select(crisis_acknowledgements.c.delivery_id).where(
                            crisis_acknowledgements.c.delivery_id == candidate.delivery_id
                        )
                    )
                ).first()
                if acknowledged is not None:
                    return False
                await conn.execute(
                    insert(escalations).values(
                        referral_id=candidate.referral_id,
                        delivery_id=candidate.delivery_id,
                        destination=candidate.destination.name,
                        step=planned.step,
                        contact=contact or ALERT_CONTACT,
                        reason=planned.reason,
                        outcome="sending" if contact else "alerted",
                        at=now,
                    )
                )
                if contact is None:
                    await self._audit(
                        candidate, planned, None, True, _alert_text(planned), conn, now
                    )
        except IntegrityError:
            return False
        return True

    async def _send(
        self, candidate: _Candidate, planned: PlannedStep, message: EscalationMessage
    ) -> str:
        try:
            detail = await self.ports[candidate.destination.name].send(message)
            outcome = "sent"
        except DeliveryError as failure:
            detail, outcome = failure.reason, "failed"
        except Exception as exc:  # whatever went wrong, the step is on record as failed
            detail, outcome = f"unexpected {type(exc).__name__}", "failed"
            log.exception("crisis.escalation_error", delivery_id=candidate.delivery_id)
        now = self.clock()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(escalations)
                .where(
                    and_(
                        escalations.c.delivery_id == candidate.delivery_id,
                        escalations.c.step == planned.step,
                    )
                )
                .values(outcome=outcome, detail=detail[:2000])
            )
            text = (
                f"Escalation step {planned.step} sent to {message.contact_name}"
                if outcome == "sent"
                else f"Escalation step {planned.step} to {message.contact_name} failed: {detail}"
            )
            await self._audit(
                candidate, planned, message.contact_name, outcome == "sent", text, conn, now
            )
        return outcome

    async def _audit(
        self,
        candidate: _Candidate,
        planned: PlannedStep,
        contact: str | None,
        succeeded: bool,
        text: str,
        conn: AsyncConnection,
        now: datetime,
    ) -> None:
        await self.audit.crisis_escalated(
            conn,
            referral_id=candidate.referral_id,
            patient_id=candidate.patient_id,
            contact=contact,
            step=planned.step,
            reason=planned.reason,
            succeeded=succeeded,
            outcome_desc=text,
            now=now,
        )

    def _links(self, referral_id: str) -> dict[str, str]:
        referral = f"{self.public_url}/referrals/{referral_id}"
        return {"referral": referral, "acknowledge": f"{referral}/acknowledge"}


def _alert_text(planned: PlannedStep) -> str:
    minutes = int(planned.unacknowledged_seconds // 60)
    cause = "dead-lettered" if planned.reason == "dead-letter" else "not acknowledged"
    return (
        f"Crisis referral {cause} for {minutes} min; no escalation contact configured: "
        f"alert {planned.step} to the operators watching the crisis desk"
    )
