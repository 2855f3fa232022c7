"""An operator's timeline of one referral, read from the audit log and the deliveries."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.referral_view import load_referral
from gateway.store.tables import audit_log


def _describe(entry: dict[str, Any]) -> str:
    words = [c.get("display") or c.get("code", "") for c in entry.get("subtype", [])]
    if entry.get("outcomeDesc"):
        words.append(str(entry["outcomeDesc"]))
    people = [
        str(agent["who"].get("display") or agent["who"].get("identifier", {}).get("value", ""))
        for agent in entry.get("agent", [])
        if isinstance(agent.get("who"), dict)
    ]
    text = "; ".join(w for w in words if w)
    return f"{text} ({', '.join(p for p in people if p)})" if people else text


async def timeline(conn: AsyncConnection, referral_id: str) -> dict[str, Any]:
    """``events`` (every audit entry of the referral, in order) and the referral ``view``."""
    rows = await conn.execute(
        select(audit_log.c.seq, audit_log.c.recorded_at, audit_log.c.event_type, audit_log.c.entry)
        .where(audit_log.c.referral_id == referral_id)
        .order_by(audit_log.c.seq)
    )
    events = [
        {
            "seq": row.seq,
            "at": row.recorded_at,
            "type": row.event_type,
            "text": _describe(orjson.loads(row.entry)),
        }
        for row in rows
    ]
    return {"events": events, "view": await load_referral(conn, referral_id, client_id=None)}
