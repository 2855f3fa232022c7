"""Registered triage-app clients and used assertion ids, in the database.

Implements the authorization server's ports (``gateway.auth.ports``): clients
come from the YAML file (refreshed at every start) and from ``gateway clients
add``; a ``jti`` is remembered across workers and restarts by an insert that
the primary key makes atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.auth.ports import ClientRegistry, JtiStore, RegisteredClient
from gateway.config import ClientConfig
from gateway.context import Clock
from gateway.store.db import READ_ONLY
from gateway.store.tables import clients, used_jti


@dataclass(frozen=True)
class ClientRecord:
    client: RegisteredClient
    source: str
    webhook_url: str | None
    webhook_secret: str | None


async def upsert_client(
    conn: AsyncConnection, config: ClientConfig, *, source: str, now: datetime
) -> None:
    await conn.execute(delete(clients).where(clients.c.client_id == config.client_id))
    await conn.execute(
        insert(clients).values(
            client_id=config.client_id,
            jwks=orjson.dumps(config.jwks) if config.jwks is not None else None,
            jwks_uri=config.jwks_uri,
            scopes=" ".join(config.scopes),
            webhook_url=config.webhook.url if config.webhook else None,
            webhook_secret=config.webhook.secret if config.webhook else None,
            source=source,
            created_at=now,
        )
    )


async def sync_config_clients(
    conn: AsyncConnection, configs: list[ClientConfig], now: datetime
) -> None:
    """Make the database's ``config`` clients exactly those of the YAML file."""
    wanted = {c.client_id for c in configs}
    await conn.execute(
        delete(clients).where(clients.c.source == "config", clients.c.client_id.not_in(wanted))
    )
    for config in configs:
        await upsert_client(conn, config, source="config", now=now)


async def remove_client(conn: AsyncConnection, client_id: str) -> bool:
    result = await conn.execute(delete(clients).where(clients.c.client_id == client_id))
    return result.rowcount > 0


async def list_clients(conn: AsyncConnection) -> list[ClientRecord]:
    rows = await conn.execute(select(clients).order_by(clients.c.client_id))
    return [_record(row) for row in rows]


def _record(r: Any) -> ClientRecord:
    return ClientRecord(
        client=RegisteredClient(
            client_id=r.client_id,
            jwks=orjson.loads(r.jwks) if r.jwks else None,
            jwks_uri=r.jwks_uri,
            scopes=r.scopes.split(),
        ),
        source=r.source,
        webhook_url=r.webhook_url,
        webhook_secret=r.webhook_secret,
    )


async def get_client_record(conn: AsyncConnection, client_id: str) -> ClientRecord | None:
    row = (await conn.execute(select(clients).where(clients.c.client_id == client_id))).first()
    return _record(row) if row else None


class DatabaseClientRegistry(ClientRegistry):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def is_registered(self, client_id: str) -> bool:
        """Whether ``client_id`` is registered now (one primary-key read, no write lock)."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**READ_ONLY)
            found = await conn.execute(
                select(clients.c.client_id).where(clients.c.client_id == client_id)
            )
            return found.first() is not None

    async def get(self, client_id: str) -> RegisteredClient | None:
        async with self.engine.connect() as conn:
            record = await get_client_record(conn, client_id)
        return record.client if record else None


class DatabaseJtiStore(JtiStore):
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    async def remember(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        now = self.clock()
        try:
            async with self.engine.begin() as conn:
                await conn.execute(delete(used_jti).where(used_jti.c.expires_at < now))
                await conn.execute(
                    insert(used_jti).values(client_id=client_id, jti=jti, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True
