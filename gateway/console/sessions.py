"""Server-side console sessions (OWASP Session Management Cheat Sheet).

The cookie holds a random 256-bit value; the table holds only its SHA-256. A session
ends after ``idle_timeout_seconds`` without a request and ``absolute_timeout_seconds``
in all. A session in the ``second-factor`` stage has checked the password only: it
opens nothing but the one-time-code step, and lasts at most five minutes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.console.config import ConsoleConfig
from gateway.store.tables_console import console_sessions

SIGNED_IN = "signed-in"
SECOND_FACTOR = "second-factor"
SECOND_FACTOR_SECONDS = 300


@dataclass(frozen=True)
class Session:
    id_hash: str
    username: str
    stage: str
    csrf_token: str
    next_path: str | None


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


async def open_session(
    conn: AsyncConnection, username: str, stage: str, next_path: str | None, now: datetime
) -> tuple[str, Session]:
    """A new session: the cookie value to send, and the session."""
    cookie = secrets.token_urlsafe(32)
    session = Session(_digest(cookie), username, stage, secrets.token_urlsafe(32), next_path)
    await conn.execute(
        insert(console_sessions).values(
            id_hash=session.id_hash,
            username=username,
            stage=stage,
            csrf_token=session.csrf_token,
            next_path=next_path,
            created_at=now,
            last_seen_at=now,
        )
    )
    return cookie, session


async def current_session(
    conn: AsyncConnection, cookie: str | None, config: ConsoleConfig, now: datetime
) -> Session | None:
    """The live session the cookie names (touched), or None; an expired one is removed."""
    if not cookie:
        return None
    id_hash = _digest(cookie)
    row = (
        await conn.execute(select(console_sessions).where(console_sessions.c.id_hash == id_hash))
    ).first()
    if row is None:
        return None
    idle = SECOND_FACTOR_SECONDS if row.stage == SECOND_FACTOR else config.idle_timeout_seconds
    total = (
        SECOND_FACTOR_SECONDS if row.stage == SECOND_FACTOR else config.absolute_timeout_seconds
    )
    if now - row.last_seen_at > timedelta(seconds=idle) or now - row.created_at > timedelta(
        seconds=total
    ):
        await end_session(conn, id_hash)
        return None
    await conn.execute(
        update(console_sessions)
        .where(console_sessions.c.id_hash == id_hash)
        .values(last_seen_at=now)
    )
    return Session(id_hash, row.username, row.stage, row.csrf_token, row.next_path)


async def end_session(conn: AsyncConnection, id_hash: str) -> None:
    await conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash))


async def end_sessions_of(conn: AsyncConnection, username: str) -> None:
    """Sign an account out everywhere (disabled, password or second factor reset)."""
    await conn.execute(delete(console_sessions).where(console_sessions.c.username == username))
