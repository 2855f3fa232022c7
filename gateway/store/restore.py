"""Knowing a database was restored from a backup (docs/runbooks/restore-from-backup.md).

A restored database is behind the audit head exported before the restore (``gateway
audit head``, kept outside the database): the entries after the backup are missing,
and with them the record of what was delivered meanwhile. The gateway says so at
start (log event ``store.behind_audit_head``) rather than passing for whole; what it
delivers again goes with the same delivery identity (the EHR's conditional create,
the webhook-id), so a receiver can tell the twin.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit.chain import Head
from gateway.audit.recorder import current_head
from gateway.logging import get_logger

log = get_logger("gateway.store")


async def entries_behind_head(engine: AsyncEngine, head_file: Path) -> int:
    """How many audit entries the database lacks against the head in ``head_file``
    (0 when it is level or ahead); logs an error when it is behind."""
    try:
        exported = Head.from_json(head_file.read_text())
    except (OSError, ValueError):
        log.error("store.audit_head_unreadable", path=str(head_file))
        return 0
    async with engine.connect() as conn:
        head = await current_head(conn)
    seq = head.seq if head else 0
    missing = max(0, exported.seq - seq)
    if missing:
        log.error("store.behind_audit_head", seq=seq, count=missing)
    return missing
