"""A fresh PostgreSQL database per test, on the server at 127.0.0.1:5432.

``pg_database_url`` gives ``postgresql+asyncpg://postgres@127.0.0.1:5432/gw_<random>``,
created empty for the test (the gateway migrates it at start) and dropped after.
``TEST_POSTGRES_URL`` (a plain ``postgresql://`` URL to an existing database, default
``postgresql://postgres@127.0.0.1:5432/test``) names the server and the admin login.
When no server answers the test is skipped with a loud reason; CI here has one.

The ``database_url`` fixture runs a test on SQLite and on PostgreSQL::

    async def test_x(database_url: str) -> None:
        async with running_gateway(tmp_path, database_url=database_url) as h: ...
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _server_answers() -> str | None:
    """None when the server answers, else why not."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of a PostgreSQL server that answers, or a loud skip."""
    problem = _server_answers()
    if problem is not None:
        pytest.skip(
            f"!!! NO POSTGRESQL at {ADMIN_URL} ({problem}): the PostgreSQL half of the store, "
            "worker and delivery tests DID NOT RUN. Start PostgreSQL or set TEST_POSTGRES_URL. !!!"
        )
    return ADMIN_URL


@pytest.fixture
def pg_database_url(pg_server: str) -> Iterator[str]:
    """A new, empty database for this test (asyncpg URL), dropped afterwards."""
    name = f"gw_{uuid.uuid4().hex[:16]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    server = pg_server.removeprefix("postgresql://").rsplit("/", 1)[0]
    try:
        yield f"postgresql+asyncpg://{server}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test runs once on SQLite (a file under ``tmp_path``) and once on a fresh
    PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    url: str = request.getfixturevalue("pg_database_url")
    return url
