"""A person's rights over what the gateway holds: accounting, export, erasure.

- Accounting of disclosures (HIPAA 45 CFR 164.528): date, recipient, what, purpose,
  read from the disclosure AuditEvents.
- Export: everything held about the person as one FHIR ``collection`` Bundle.
- Erasure: the clinical record is destroyed; what must be kept is kept and said:
  the audit log (it names the person only by an opaque local id, never an
  identifier), Consent records (proof of what the person allowed; their patient
  identifier is replaced by a keyed hash), and delivery records (ids and outcomes).
  Copies already delivered to EHRs and services stay with those recipients, and the
  answer names them so the person can ask there.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit import balp
from gateway.audit.recorder import AuditRecorder, append_entry, client_party, patient_ref
from gateway.context import fhir_instant
from gateway.delivery.status import OPEN, DeliveryStatus
from gateway.store.fhir_store import find_by_identifier, update_resource
from gateway.store.tables import (
    audit_log,
    deliveries,
    fhir_resources,
    referrals,
    resource_identifiers,
)
from gateway.store.tables_rights import erased_patients

DISCLOSURE_EVENTS = ("disclosure", "emergency-disclosure", "read-disclosure")
KEPT_ON_ERASURE = ("Consent", "Organization", "Device")
DEVELOPMENT_HASH_KEY = "development-only-audit-hash-key"


@dataclass(frozen=True)
class PersonKey:
    system: str
    value: str

    @classmethod
    def parse(cls, text: str) -> PersonKey | None:
        system, sep, value = text.partition("|")
        if not sep or not system or not value:
            return None
        return cls(system, value)

    def keyed_hash(self, key: str) -> str:
        message = f"{self.system}|{self.value}".encode()
        return hmac.new((key or DEVELOPMENT_HASH_KEY).encode(), message, hashlib.sha256).hexdigest()


async def patient_ids(conn: AsyncConnection, person: PersonKey, hash_key: str) -> list[str]:
    """Local Patient ids for this identifier, including those of an earlier erasure."""
    ids = await find_by_identifier(conn, "Patient", person.system, person.value)
    erased = await conn.execute(
        select(erased_patients.c.patient_id).where(
            erased_patients.c.identifier_hash == person.keyed_hash(hash_key)
        )
    )
    return list(dict.fromkeys([*ids, *(row[0] for row in erased)]))


async def accounting(conn: AsyncConnection, ids: list[str]) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(audit_log.c.entry)
        .where(audit_log.c.patient_id.in_(ids), audit_log.c.event_type.in_(DISCLOSURE_EVENTS))
        .order_by(audit_log.c.seq)
    )
    lines = [balp.accounting_row(orjson.loads(row[0])) for row in rows]
    return [line for line in lines if line is not None]


async def export_bundle(
    conn: AsyncConnection, ids: list[str], *, now: datetime, public_url: str
) -> dict[str, Any]:
    rows = await conn.execute(
        select(fhir_resources.c.body)
        .where(fhir_resources.c.patient_id.in_(ids))
        .order_by(fhir_resources.c.resource_type, fhir_resources.c.last_updated)
    )
    resources = [orjson.loads(row[0]) for row in rows]
    audits = await conn.execute(
        select(audit_log.c.seq, audit_log.c.entry)
        .where(audit_log.c.patient_id.in_(ids))
        .order_by(audit_log.c.seq)
    )
    for seq, entry in audits:
        resources.append({**orjson.loads(entry), "id": f"audit-{seq}"})
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": fhir_instant(now, "auto"),
        "entry": [
            {"fullUrl": f"{public_url}/fhir/{r['resourceType']}/{r.get('id', '')}", "resource": r}
            for r in resources
        ],
    }


async def record_export(
    conn: AsyncConnection,
    audit: AuditRecorder,
    *,
    ids: list[str],
    client_id: str,
    count: int,
    now: datetime,
) -> None:
    for patient_id in ids[:1]:
        entry = balp.patient_export(
            recorded=fhir_instant(now, "auto"),
            gateway=audit.gateway,
            requester=client_party(client_id),
            patient=patient_ref(patient_id),
            resource_count=count,
        )
        await append_entry(conn, entry, event_type="export", now=now, patient_id=patient_id)


async def erase(
    conn: AsyncConnection,
    person: PersonKey,
    ids: list[str],
    *,
    hash_key: str,
    audit: AuditRecorder,
    client_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Erase what may be erased; keep and pseudonymise what must be kept; say which is which."""
    counts: dict[str, int] = {}
    rows = list(
        await conn.execute(
            select(
                fhir_resources.c.resource_type,
                fhir_resources.c.id,
                fhir_resources.c.version_id,
                fhir_resources.c.body,
            ).where(fhir_resources.c.patient_id.in_(ids))
        )
    )
    pseudonym = {
        "system": "urn:referral-gateway:erased-person",
        "value": person.keyed_hash(hash_key),
    }
    for rtype, rid, version, body in rows:
        if rtype == "Consent":
            consent = orjson.loads(body)
            consent["patient"] = {"identifier": pseudonym}
            await update_resource(conn, consent, now=now, expected_version=version)
            continue
        if rtype in KEPT_ON_ERASURE:
            continue
        await conn.execute(
            delete(fhir_resources).where(
                fhir_resources.c.resource_type == rtype, fhir_resources.c.id == rid
            )
        )
        await conn.execute(
            delete(resource_identifiers).where(
                resource_identifiers.c.resource_type == rtype,
                resource_identifiers.c.resource_id == rid,
            )
        )
        counts[rtype] = counts.get(rtype, 0) + 1
    referral_rows = list(
        await conn.execute(select(referrals.c.id).where(referrals.c.patient_id.in_(ids)))
    )
    referral_ids = [r[0] for r in referral_rows]
    if referral_ids:
        await conn.execute(
            update(referrals)
            .where(referrals.c.id.in_(referral_ids))
            .values(
                bundle=b"{}",
                explanation=b"{}",
                status="erased",
                updated_at=now,
            )
        )
        await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.referral_id.in_(referral_ids),
                deliveries.c.status.in_(OPEN),
            )
            .values(
                status=DeliveryStatus.WITHHELD,
                last_error="The person's data was erased.",
                updated_at=now,
                lease_until=None,
            )
        )
    delivered_to = (
        sorted(
            {
                row[0]
                for row in await conn.execute(
                    select(deliveries.c.destination).where(
                        deliveries.c.referral_id.in_(referral_ids),
                        deliveries.c.status == DeliveryStatus.DELIVERED,
                    )
                )
            }
        )
        if referral_ids
        else []
    )
    for patient_id in ids:
        exists = (
            await conn.execute(
                select(erased_patients.c.patient_id).where(
                    erased_patients.c.identifier_hash == pseudonym["value"],
                    erased_patients.c.patient_id == patient_id,
                )
            )
        ).first()
        if exists is None:
            await conn.execute(
                insert(erased_patients).values(
                    identifier_hash=pseudonym["value"], patient_id=patient_id, erased_at=now
                )
            )
    erased = [f"{rtype}: {n}" for rtype, n in sorted(counts.items())]
    if referral_ids:
        erased.append(f"referral contents (the submitted triage data): {len(referral_ids)}")
    kept = [
        "audit log: kept, as the law requires an accounting of disclosures; it names the "
        "person only by an opaque id, never by an identifier",
        "consent records: kept as proof of what the person allowed, with the person's "
        "identifier replaced by a keyed hash",
        "delivery records: kept (ids, destinations, times and outcomes; no personal data)",
    ]
    entry = balp.patient_erasure(
        recorded=fhir_instant(now, "auto"),
        gateway=audit.gateway,
        requester=client_party(client_id),
        pseudonymised_patient={"identifier": pseudonym},
        erased=erased,
        kept=kept,
    )
    await append_entry(conn, entry, event_type="erasure", now=now, patient_id=ids[0])
    return {
        "erased": erased,
        "kept": kept,
        "already_disclosed_to": delivered_to,
        "note": "Copies already delivered stay with those recipients; ask them to erase theirs.",
    }
