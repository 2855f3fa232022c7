"""What one client did, from the audit log: every entry naming it as an agent
(tokens issued and refused, submissions received, consents recorded, ...), with the
referral and person each touched (docs/runbooks/app-key-leaked.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit.recorder import CLIENT_SYSTEM
from gateway.store.tables import audit_log


@dataclass(frozen=True)
class Activity:
    seq: int
    recorded_at: datetime
    event_type: str
    referral_id: str | None
    patient_id: str | None
    outcome: str | None

    def to_dict(self, instant: str) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": instant,
            "event": self.event_type,
            "referral_id": self.referral_id,
            "patient_id": self.patient_id,
            "outcome": self.outcome,
        }


def _names(entry: dict[str, Any], client_id: str) -> bool:
    for agent in entry.get("agent", []):
        identifier = (agent.get("who") or {}).get("identifier") or {}
        if identifier.get("system") == CLIENT_SYSTEM and identifier.get("value") == client_id:
            return True
    return False


async def client_activity(
    conn: AsyncConnection, client_id: str, since: datetime | None = None
) -> list[Activity]:
    """Audit entries naming ``client_id``, oldest first (``since``: from that moment)."""
    query = select(audit_log).order_by(audit_log.c.seq)
    if since is not None:
        query = query.where(audit_log.c.recorded_at >= since)
    rows = await conn.execute(query)
    found = []
    for row in rows:
        entry = orjson.loads(row.entry)
        if _names(entry, client_id):
            found.append(
                Activity(
                    row.seq,
                    row.recorded_at,
                    row.event_type,
                    row.referral_id,
                    row.patient_id,
                    entry.get("outcomeDesc"),
                )
            )
    return found
