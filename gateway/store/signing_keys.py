"""The database's keyring store (``gateway.auth.keyring.KeyStore``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.keyring import KeyStore, Purpose, StoredKey
from gateway.context import Clock
from gateway.store.tables_keys import signing_keys


class DatabaseKeyStore(KeyStore):
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    async def keys(self, purpose: Purpose) -> list[StoredKey]:
        return [k for k in await self.all_keys(purpose) if k.published(self.clock())]

    async def all_keys(self, purpose: Purpose | None = None) -> list[StoredKey]:
        """Every key ever made (for ``gateway keys list``), newest first."""
        query = select(signing_keys).order_by(
            signing_keys.c.created_at.desc(), signing_keys.c.kid.desc()
        )
        if purpose is not None:
            query = query.where(signing_keys.c.purpose == purpose)
        async with self.engine.connect() as conn:
            return [_key(row) for row in await conn.execute(query)]

    async def add_first(self, key: StoredKey) -> None:
        async with self.engine.begin() as conn:
            signing = await conn.execute(
                select(signing_keys.c.kid).where(
                    signing_keys.c.purpose == key.purpose, signing_keys.c.retired_at.is_(None)
                )
            )
            if signing.first() is None:
                await conn.execute(insert(signing_keys).values(**_row(key)))

    async def rotate(self, key: StoredKey, *, now: datetime, unpublish_at: datetime) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(signing_keys)
                .where(signing_keys.c.purpose == key.purpose, signing_keys.c.retired_at.is_(None))
                .values(retired_at=now, unpublish_at=unpublish_at, private_pem=None)
            )
            await conn.execute(insert(signing_keys).values(**_row(key)))


def _row(key: StoredKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "purpose": key.purpose,
        "alg": key.alg,
        "private_pem": key.private_pem,
        "public_jwk": orjson.dumps(key.public_jwk),
        "created_at": key.created_at,
        "retired_at": key.retired_at,
        "unpublish_at": key.unpublish_at,
    }


def _key(row: Any) -> StoredKey:
    return StoredKey(
        kid=row.kid,
        purpose=cast(Purpose, row.purpose),
        alg=row.alg,
        private_pem=row.private_pem,
        public_jwk=orjson.loads(row.public_jwk),
        created_at=row.created_at,
        retired_at=row.retired_at,
        unpublish_at=row.unpublish_at,
    )
