"""Writes BALP AuditEvents into the tamper-evident chain, on the caller's transaction.

Appends are serialised by locking the single ``audit_head`` row (``FOR UPDATE`` on
PostgreSQL; SQLite's write lock does the same), so the chain never forks even
with several workers. An audit entry is committed with the change it records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consent.engine import Decision
from gateway.audit import balp, chain
from gateway.auth.ports import AuthAuditSink, AuthEvent
from gateway.context import Clock, fhir_instant
from gateway.disclosure import (
    CONSENT_DECISION_EVENT,
    DISCLOSURE_EVENT,
    EMERGENCY_DISCLOSURE_EVENT,
)
from gateway.store.tables import audit_head, audit_log

CLIENT_SYSTEM = "urn:referral-gateway:client-id"


def client_party(client_id: str | None) -> balp.Party:
    return balp.Party(
        who={"identifier": {"system": CLIENT_SYSTEM, "value": client_id or "unknown"}}
    )


def recipient_party(destination: str) -> balp.Party:
    return balp.Party(who={"reference": f"Organization/{destination}", "display": destination})


def patient_ref(patient_id: str) -> dict[str, Any]:
    return {"reference": f"Patient/{patient_id}"}


@dataclass(frozen=True)
class PendingEntry:
    """An AuditEvent waiting for its place in the chain."""

    entry: dict[str, Any]
    event_type: str
    referral_id: str | None = None
    patient_id: str | None = None


async def append_entries(
    conn: AsyncConnection, pending: list[PendingEntry], *, now: datetime
) -> int:
    """Chain ``pending`` after the current head, in order; returns the last sequence number."""
    head_row = (
        await conn.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update())
    ).first()
    head = chain.Head(head_row.seq, bytes.fromhex(head_row.chain_hash)) if head_row else None
    rows = []
    for item in pending:
        link = chain.append(
            head, item.entry, index_columns(item.event_type, item.referral_id, item.patient_id, now)
        )
        head = chain.Head(link.seq, link.chain_hash)
        rows.append(
            {
                "seq": link.seq,
                "recorded_at": now,
                "event_type": item.event_type,
                "referral_id": item.referral_id,
                "patient_id": item.patient_id,
                "entry": chain.canonical(item.entry),
                "leaf_hash": link.leaf_hash.hex(),
                "chain_hash": link.chain_hash.hex(),
            }
        )
    if head is None:
        return 0
    await conn.execute(insert(audit_log), rows)
    values = {"seq": head.seq, "chain_hash": head.chain_hash.hex()}
    if head_row is None:
        await conn.execute(insert(audit_head).values(id=1, **values))
    else:
        await conn.execute(update(audit_head).where(audit_head.c.id == 1).values(**values))
    return head.seq


async def append_entry(
    conn: AsyncConnection,
    entry: dict[str, Any],
    *,
    event_type: str,
    now: datetime,
    referral_id: str | None = None,
    patient_id: str | None = None,
) -> int:
    """Chain one ``entry`` after the current head; returns its sequence number."""
    return await append_entries(
        conn, [PendingEntry(entry, event_type, referral_id, patient_id)], now=now
    )


def index_columns(
    event_type: str, referral_id: str | None, patient_id: str | None, recorded_at: datetime
) -> dict[str, Any]:
    """The ``audit_log`` columns hashed with an entry, so none can be edited unseen."""
    return {
        "event_type": event_type,
        "referral_id": referral_id,
        "patient_id": patient_id,
        "recorded_at": fhir_instant(recorded_at),
    }


async def stored_entries(conn: AsyncConnection) -> Iterator[chain.StoredEntry]:
    rows = await conn.execute(select(audit_log).order_by(audit_log.c.seq))
    return (
        chain.StoredEntry(
            seq=row.seq,
            entry=orjson.loads(row.entry),
            leaf_hash=bytes.fromhex(row.leaf_hash),
            chain_hash=bytes.fromhex(row.chain_hash),
            index=index_columns(row.event_type, row.referral_id, row.patient_id, row.recorded_at),
        )
        for row in rows.all()
    )


async def current_head(conn: AsyncConnection) -> chain.Head | None:
    row = (await conn.execute(select(audit_head).where(audit_head.c.id == 1))).first()
    return chain.Head(row.seq, bytes.fromhex(row.chain_hash)) if row else None


class AuditRecorder(AuthAuditSink):
    """The events the gateway audits, each as a BALP-shaped AuditEvent."""

    def __init__(self, engine: AsyncEngine, clock: Clock, public_url: str) -> None:
        self.engine = engine
        self.clock = clock
        self.gateway = balp.Party(
            who={"display": "referral-gateway", "identifier": {"value": public_url}},
            network=public_url,
        )

    def received_entry(
        self, *, referral_id: str, patient_id: str, client_id: str, now: datetime
    ) -> PendingEntry:
        entry = balp.submission_received(
            recorded=fhir_instant(now),
            gateway=self.gateway,
            submitter=client_party(client_id),
            patient=patient_ref(patient_id),
            data=[
                {"identifier": {"system": "urn:referral-gateway:referral", "value": referral_id}}
            ],
        )
        return PendingEntry(entry, "import", referral_id, patient_id)

    def consent_decision_entry(
        self,
        decision: Decision,
        *,
        referral_id: str,
        patient_id: str,
        recipient: str,
        client_id: str,
        now: datetime,
    ) -> PendingEntry:
        entry = balp.consent_decision(
            recorded=fhir_instant(now),
            gateway=self.gateway,
            client=client_party(client_id),
            recipient=recipient_party(recipient),
            patient=patient_ref(patient_id),
            consent={"reference": f"Consent/{decision.consent_id}"}
            if decision.consent_id
            else None,
            permit=decision.permit,
            reason=decision.reason,
            purpose=decision.purpose,
        )
        return PendingEntry(entry, CONSENT_DECISION_EVENT, referral_id, patient_id)

    async def consent_decision(
        self,
        conn: AsyncConnection,
        decision: Decision,
        *,
        referral_id: str,
        patient_id: str,
        recipient: str,
        client_id: str,
        now: datetime,
    ) -> None:
        pending = self.consent_decision_entry(
            decision,
            referral_id=referral_id,
            patient_id=patient_id,
            recipient=recipient,
            client_id=client_id,
            now=now,
        )
        await append_entries(conn, [pending], now=now)

    async def disclosure(
        self,
        conn: AsyncConnection,
        *,
        referral_id: str,
        patient_id: str,
        recipient: str,
        purpose: str,
        emergency: bool,
        client_id: str,
        now: datetime,
        what: list[dict[str, Any]] | None = None,
        nature_of_emergency: str = "",
    ) -> None:
        data = what or [
            {"identifier": {"system": "urn:referral-gateway:referral", "value": referral_id}}
        ]
        if emergency:
            entry = balp.emergency_disclosure(
                recorded=fhir_instant(now),
                gateway=self.gateway,
                recipient=recipient_party(recipient),
                recipient_name=recipient,
                recipient_affiliation=f"crisis service '{recipient}'",
                disclosed_by="referral-gateway (automatic crisis route)",
                nature_of_emergency=nature_of_emergency
                or "imminent risk of self-harm reported by the triage",
                patient=patient_ref(patient_id),
                data=data,
            )
            event_type = EMERGENCY_DISCLOSURE_EVENT
        else:
            entry = balp.disclosure(
                recorded=fhir_instant(now),
                gateway=self.gateway,
                recipient=recipient_party(recipient),
                patient=patient_ref(patient_id),
                purpose=purpose,
                data=data,
            )
            event_type = DISCLOSURE_EVENT
        await append_entry(
            conn,
            entry,
            event_type=event_type,
            now=now,
            referral_id=referral_id,
            patient_id=patient_id,
        )

    async def consent_recorded(
        self,
        conn: AsyncConnection,
        *,
        consent_id: str,
        patient_id: str,
        client_id: str,
        action: str,
        now: datetime,
        revoked: bool = False,
    ) -> None:
        entry = balp.consent_recorded(
            recorded=fhir_instant(now),
            gateway=self.gateway,
            client=client_party(client_id),
            patient=patient_ref(patient_id),
            consent={"reference": f"Consent/{consent_id}"},
            action=action,
            revoked=revoked,
        )
        await append_entry(
            conn,
            entry,
            event_type="consent-revoked" if revoked else "consent-recorded",
            now=now,
            patient_id=patient_id,
        )

    async def record(self, event: AuthEvent) -> None:
        """Token issued or refused (the authorization server's audit port)."""
        if event.action == "token.issued":
            entry = balp.token_issued(
                recorded=fhir_instant(event.at),
                gateway=self.gateway,
                client=client_party(event.client_id),
                jti=event.token_id or "",
                scope=event.scope or "",
                expires_in=300,
            )
        else:
            entry = balp.token_refused(
                recorded=fhir_instant(event.at),
                gateway=self.gateway,
                client=client_party(event.client_id),
                error=event.error or "invalid_request",
                description=event.reason or "",
                requested_scope=event.scope,
            )
        async with self.engine.begin() as conn:
            await append_entry(conn, entry, event_type=event.action, now=event.at)

    async def crisis_acknowledged(
        self,
        conn: AsyncConnection,
        *,
        referral_id: str,
        patient_id: str,
        destination: str,
        person: str,
        client_id: str,
        now: datetime,
    ) -> None:
        """A person acknowledged a crisis delivery (the note is not audited: it is free text)."""
        entry = balp.crisis_acknowledged(
            recorded=fhir_instant(now),
            gateway=self.gateway,
            client=client_party(client_id),
            person=person,
            crisis_service=recipient_party(destination),
            patient=patient_ref(patient_id),
            referral=_referral(referral_id),
        )
        await append_entry(
            conn,
            entry,
            event_type="crisis-acknowledged",
            now=now,
            referral_id=referral_id,
            patient_id=patient_id,
        )

    async def crisis_escalated(
        self,
        conn: AsyncConnection,
        *,
        referral_id: str,
        patient_id: str,
        contact: str | None,
        step: int,
        reason: str,
        succeeded: bool,
        outcome_desc: str,
        now: datetime,
    ) -> None:
        """One escalation step: a contact notified (or not reached), or an operator alert."""
        entry = balp.crisis_escalated(
            recorded=fhir_instant(now),
            gateway=self.gateway,
            contact=balp.Party(who={"display": contact}) if contact else None,
            patient=patient_ref(patient_id),
            referral=_referral(referral_id),
            step=step,
            reason=reason,
            succeeded=succeeded,
            outcome_desc=outcome_desc,
        )
        await append_entry(
            conn,
            entry,
            event_type="crisis-escalated",
            now=now,
            referral_id=referral_id,
            patient_id=patient_id,
        )

    async def emergency_disclosure_reviewed(
        self,
        conn: AsyncConnection,
        *,
        seq: int,
        referral_id: str | None,
        patient_id: str | None,
        person: str,
        client_id: str,
        now: datetime,
    ) -> None:
        entry = balp.emergency_disclosure_reviewed(
            recorded=fhir_instant(now),
            gateway=self.gateway,
            client=client_party(client_id),
            person=person,
            patient=patient_ref(patient_id) if patient_id else None,
            audit_entry={"identifier": {"system": AUDIT_SEQ_SYSTEM, "value": str(seq)}},
        )
        await append_entry(
            conn,
            entry,
            event_type="disclosure-reviewed",
            now=now,
            referral_id=referral_id,
            patient_id=patient_id,
        )


AUDIT_SEQ_SYSTEM = "urn:referral-gateway:audit-seq"


def _referral(referral_id: str) -> dict[str, Any]:
    return {"identifier": {"system": "urn:referral-gateway:referral", "value": referral_id}}
