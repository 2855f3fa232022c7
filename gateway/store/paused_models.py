"""Paused model versions: who paused which, when, and why; every change audited.

Read by intake on every write (one small query per batch), so a pause or a resume
takes effect at once in every gateway process (docs/runbooks/model-drift-alert.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit import balp
from gateway.audit.recorder import append_entry, client_party
from gateway.context import fhir_instant
from gateway.store.tables_ops import paused_models

MODEL_SYSTEM = "urn:referral-gateway:model-version"
PAUSED_EVENT, RESUMED_EVENT = "model-paused", "model-resumed"


@dataclass(frozen=True)
class PausedModel:
    name: str
    version: str
    paused_at: datetime
    paused_by: str
    reason: str | None


async def paused_versions(conn: AsyncConnection) -> frozenset[tuple[str, str]]:
    """The (name, version) pairs paused right now."""
    rows = await conn.execute(select(paused_models.c.name, paused_models.c.version))
    return frozenset((r.name, r.version) for r in rows)


async def list_paused(conn: AsyncConnection) -> list[PausedModel]:
    rows = await conn.execute(select(paused_models).order_by(paused_models.c.paused_at))
    return [PausedModel(r.name, r.version, r.paused_at, r.paused_by, r.reason) for r in rows]


async def pause_model(
    conn: AsyncConnection,
    name: str,
    version: str,
    *,
    by: str,
    now: datetime,
    gateway: balp.Party,
    reason: str | None = None,
) -> bool:
    """Pause ``name`` ``version``; False when it was paused already (nothing changes)."""
    if (name, version) in await paused_versions(conn):
        return False
    await conn.execute(
        insert(paused_models).values(
            name=name, version=version, paused_at=now, paused_by=by, reason=reason
        )
    )
    await _audit(conn, name, version, PAUSED_EVENT, by=by, now=now, gateway=gateway)
    return True


async def resume_model(
    conn: AsyncConnection,
    name: str,
    version: str,
    *,
    by: str,
    now: datetime,
    gateway: balp.Party,
) -> bool:
    """Resume ``name`` ``version``; False when it was not paused."""
    result = await conn.execute(
        delete(paused_models).where(
            paused_models.c.name == name, paused_models.c.version == version
        )
    )
    if result.rowcount != 1:
        return False
    await _audit(conn, name, version, RESUMED_EVENT, by=by, now=now, gateway=gateway)
    return True


async def _audit(
    conn: AsyncConnection,
    name: str,
    version: str,
    event_type: str,
    *,
    by: str,
    now: datetime,
    gateway: balp.Party,
) -> None:
    verb = "paused" if event_type == PAUSED_EVENT else "resumed"
    entry = balp.operator_action(
        recorded=fhir_instant(now),
        gateway=gateway,
        operator=client_party(by),
        description=f"Model {name} {version} {verb}",
        what={"identifier": {"system": MODEL_SYSTEM, "value": f"{name}|{version}"}},
    )
    await append_entry(conn, entry, event_type=event_type, now=now)
