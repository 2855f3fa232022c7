"""``gateway destinations add-client|remove-client|clients``: stored in the database, so
every gateway process sees the change without a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import parse_config
from gateway.destination_members import DestinationMembers
from gateway.store.db import create_engine

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "gateway.yaml"


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {
        "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/gateway.db",
        "GATEWAY_CONFIG": str(EXAMPLE),
    }
    result = CliRunner().invoke(app, ["destinations", *args], env=env)
    return result.exit_code, result.output


def _members_seen_by_a_gateway(tmp_path: Path, destination: str) -> list[str]:
    """What a running gateway process would read (``MembershipRefresh`` does this)."""
    import yaml

    config = parse_config(yaml.safe_load(EXAMPLE.read_text()))

    async def read() -> list[str]:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/gateway.db")
        try:
            async with engine.connect() as conn:
                await DestinationMembers(config).refresh(conn)
        finally:
            await engine.dispose()
        return list(config.destination(destination).clients)

    return asyncio.run(read())


def test_add_and_remove_a_client(tmp_path: Path) -> None:
    assert _run(tmp_path, "clients", "inbox") == (0, "")
    code, output = _run(tmp_path, "add-client", "inbox", "demo-operator")
    assert code == 0, output
    assert _run(tmp_path, "clients", "inbox")[1].split() == ["demo-operator"]
    assert _members_seen_by_a_gateway(tmp_path, "inbox") == ["demo-operator"]

    code, output = _run(tmp_path, "remove-client", "inbox", "demo-operator")
    assert code == 0, output
    assert _run(tmp_path, "clients", "inbox")[1].split() == []
    assert _members_seen_by_a_gateway(tmp_path, "inbox") == []


def test_an_unknown_destination_or_client_is_refused(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "add-client", "no-such-place", "demo-operator")
    assert code != 0 and "no-such-place" in output
    code, output = _run(tmp_path, "add-client", "inbox", "nobody-registered")
    assert code != 0 and "nobody-registered" in output
    assert _run(tmp_path, "clients", "inbox")[1].split() == []
