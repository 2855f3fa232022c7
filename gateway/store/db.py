"""Engine creation and schema migration at start.

SQLite runs in WAL mode with ``synchronous=FULL`` (durable: an accepted referral
survives power loss) and a busy timeout; PostgreSQL is used as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE below applies.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


READ_ONLY = {"gateway_read_only": True}
"""Execution options for a connection that only reads (``conn.execution_options(**READ_ONLY)``):
on SQLite it begins deferred, so it never waits for, or holds, the write lock (WAL lets
readers run beside the writer). Use it on paths every request takes."""


def _sqlite_begin_immediate(connection: Connection) -> None:
    """Take the write lock up front: no deadlock when two transactions both read then write.
    A read-only connection (``READ_ONLY``) begins deferred instead."""
    if connection.get_execution_options().get("gateway_read_only"):
        connection.exec_driver_sql("BEGIN")
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Apply every Alembic migration not yet applied."""

    def upgrade(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), "heads")

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)
