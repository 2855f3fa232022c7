"""The audit log on the FHIR surface: ``GET /fhir/AuditEvent`` and ``/AuditEvent/{id}``.

Entries live in the hash-chained ``audit_log`` table, not among the resources; this
module shows them as AuditEvent resources with id ``audit-<seq>``, searchable by
``_id``, ``patient`` and ``_lastUpdated``. A client other than an operator sees
only the entries about its own referrals.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.context import fhir_instant
from gateway.fhir_search import Criteria
from gateway.store.fhir_search_store import date_condition
from gateway.store.fhir_store import StoredResource
from gateway.store.tables import audit_log, referrals

ID_PREFIX = "audit-"


def _resource(row: Any) -> StoredResource:
    body = {
        **orjson.loads(row.entry),
        "id": f"{ID_PREFIX}{row.seq}",
        "meta": {
            "versionId": "1",
            "lastUpdated": fhir_instant(row.recorded_at, "auto"),
        },
    }
    return StoredResource(
        resource_type="AuditEvent",
        id=body["id"],
        version_id=1,
        last_updated=row.recorded_at,
        body=body,
        client_id=None,
        owner=None,
        published=True,
        referral_id=row.referral_id,
        patient_id=row.patient_id,
    )


def _seq(resource_id: str) -> int | None:
    digits = resource_id.removeprefix(ID_PREFIX)
    return int(digits) if digits.isdigit() else None


def _owned_by(client_id: str) -> Any:
    return audit_log.c.referral_id.in_(
        select(referrals.c.id).where(referrals.c.client_id == client_id)
    )


async def read_audit_event(
    conn: AsyncConnection, resource_id: str, *, client_id: str | None
) -> StoredResource | None:
    seq = _seq(resource_id)
    if seq is None:
        return None
    condition = audit_log.c.seq == seq
    if client_id is not None:
        condition = and_(condition, _owned_by(client_id))
    row = (await conn.execute(select(audit_log).where(condition))).first()
    return _resource(row) if row else None


async def search_audit_events(
    conn: AsyncConnection, criteria: Criteria, *, client_id: str | None
) -> tuple[int, list[StoredResource]]:
    """(total, page) of the entries ``client_id`` (None: an operator) may see that match."""
    conditions = []
    if client_id is not None:
        conditions.append(_owned_by(client_id))
    for ids in criteria.ids:
        conditions.append(audit_log.c.seq.in_([s for s in map(_seq, ids) if s is not None]))
    for patient_id in criteria.patient_ids:
        conditions.append(audit_log.c.patient_id == patient_id)
    for wanted in criteria.last_updated:
        conditions.append(date_condition(audit_log.c.recorded_at, wanted))
    where = and_(True, *conditions)
    total = (
        await conn.execute(select(func.count()).select_from(audit_log).where(where))
    ).scalar_one()
    if criteria.summary_count or criteria.count == 0:
        return int(total), []
    columns = {"_lastUpdated": audit_log.c.recorded_at, "_id": audit_log.c.seq}
    order = [columns[name].desc() if desc else columns[name] for name, desc in criteria.sort]
    rows = await conn.execute(
        select(audit_log).where(where).order_by(*order).limit(criteria.count).offset(criteria.offset)
    )
    return int(total), [_resource(row) for row in rows]
