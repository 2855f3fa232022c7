"""Operator actions on the audit trail, shared by the CLI and the API: verify, export."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit import chain
from gateway.audit.recorder import current_head, stored_entries


async def verify_audit(
    conn: AsyncConnection, expected_head: chain.Head | None
) -> chain.VerifyResult:
    return chain.verify(await stored_entries(conn), expected_head)


async def export_head(conn: AsyncConnection) -> chain.Head | None:
    return await current_head(conn)
