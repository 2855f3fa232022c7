"""Reads through the FHIR surface by anyone but the submitter are disclosures, and audited.

An operator, or a recipient reading the Tasks it owns, sees data a triage app
submitted: each such read writes one BALP disclosure AuditEvent per person read
about (recipient: the reading client; purpose: ``HOPERAT`` for operators,
``TREAT`` for recipients), so the person's accounting of disclosures includes it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit import balp
from gateway.audit.recorder import (
    AuditRecorder,
    PendingEntry,
    append_entries,
    client_party,
    patient_ref,
)
from gateway.context import fhir_instant
from gateway.store.fhir_store import StoredResource

MAX_RESOURCES_LISTED = 50


async def audit_foreign_reads(
    engine: AsyncEngine,
    audit: AuditRecorder,
    *,
    reader: str,
    is_operator: bool,
    resources: list[StoredResource],
    now: datetime,
) -> int:
    """Audit what ``reader`` read of other clients' submissions; returns the entries written."""
    by_patient: dict[str, list[StoredResource]] = defaultdict(list)
    for resource in resources:
        if resource.client_id != reader and resource.patient_id is not None:
            by_patient[resource.patient_id].append(resource)
    if not by_patient:
        return 0
    recorded = fhir_instant(now)
    pending = [
        PendingEntry(
            balp.disclosure(
                recorded=recorded,
                gateway=audit.gateway,
                recipient=client_party(reader),
                patient=patient_ref(patient_id),
                purpose="HOPERAT" if is_operator else "TREAT",
                data=[
                    {"reference": f"{r.resource_type}/{r.id}"} for r in read[:MAX_RESOURCES_LISTED]
                ],
            ),
            "read-disclosure",
            read[0].referral_id,
            patient_id,
        )
        for patient_id, read in by_patient.items()
    ]
    async with engine.begin() as conn:
        await append_entries(conn, pending, now=now)
    return len(pending)
