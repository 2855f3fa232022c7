"""Who acts for a destination: ``destinations[].clients`` from the YAML, the crisis
destination's ``client_id``, and what ``gateway destinations add-client|remove-client``
stored in the database (CONTRACT.md v1.1, "Recipients and the notifications they get").

Every reader of membership reads ``destination.clients`` (``gateway.referral_loop.recipients``,
Task updates). ``DestinationMembers.refresh`` rewrites those lists in place from YAML +
database, and ``MembershipRefresh`` runs it before a request at most once a second, so a
change made by the CLI in another process is in force in every gateway process within a
second, with no restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.config import CrisisDestination, GatewayConfig
from gateway.logging import get_logger
from gateway.store.db import READ_ONLY
from gateway.store.tables_destinations import destination_clients

log = get_logger("gateway.destinations")
_EXEMPT = {"/healthz", "/readyz", "/metrics"}  # probes never wait on this


def configured_members(config: GatewayConfig) -> dict[str, list[str]]:
    """Membership as the YAML says: ``clients``, plus a crisis destination's ``client_id``."""
    members: dict[str, list[str]] = {}
    for destination in config.destinations:
        names = list(destination.clients)
        if isinstance(destination, CrisisDestination) and destination.client_id:
            names.append(destination.client_id)
        members[destination.name] = list(dict.fromkeys(names))
    return members


async def set_member(
    conn: AsyncConnection, destination: str, client_id: str, *, member: bool, now: datetime
) -> None:
    """Record that ``client_id`` does (or, ``member=False``, no longer does) act for it."""
    values = {"destination": destination, "client_id": client_id, "member": member}
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(destination_clients).values(**values, changed_at=now)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["destination", "client_id"],
            set_={"member": member, "changed_at": now},
        )
    )


async def stored_changes(conn: AsyncConnection) -> dict[str, dict[str, bool]]:
    rows = await conn.execute(
        select(
            destination_clients.c.destination,
            destination_clients.c.client_id,
            destination_clients.c.member,
        )
    )
    changes: dict[str, dict[str, bool]] = {}
    for destination, client_id, member in rows:
        changes.setdefault(destination, {})[client_id] = bool(member)
    return changes


def merged(base: list[str], changes: dict[str, bool]) -> list[str]:
    """``base`` with the stored additions and removals applied (pure)."""
    kept = [c for c in base if changes.get(c, True)]
    return kept + [c for c, member in changes.items() if member and c not in kept]


class DestinationMembers:
    """Keeps each destination's ``clients`` list equal to YAML + database."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.base = configured_members(config)

    async def refresh(self, conn: AsyncConnection) -> None:
        changes = await stored_changes(conn)
        for destination in self.config.destinations:
            # The list inside the frozen config is the one every reader holds: update it
            # in place rather than replacing the config.
            destination.clients[:] = merged(
                self.base[destination.name], changes.get(destination.name, {})
            )


class MembershipRefresh:
    """ASGI middleware: refresh membership before a request, at most every ``interval`` s."""

    def __init__(
        self,
        app: ASGIApp,
        members: DestinationMembers,
        engine: AsyncEngine,
        interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.members = members
        self.engine = engine
        self.interval = interval
        self.monotonic = monotonic
        self.refreshed_at: float | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in _EXEMPT and self._due():
            self.refreshed_at = self.monotonic()
            try:
                async with self.engine.connect() as conn:
                    conn = await conn.execution_options(**READ_ONLY)
                    await self.members.refresh(conn)
            except SQLAlchemyError:  # keep the last membership; the request decides on it
                log.warning("destinations.membership_refresh_failed")
        await self.app(scope, receive, send)

    def _due(self) -> bool:
        return self.refreshed_at is None or self.monotonic() - self.refreshed_at >= self.interval
