"""``gateway destinations add-client|remove-client|clients``: who acts for a destination,
changed at run time (CONTRACT.md v1.1, "Recipients and the notifications they get").

Stored in the database (``destination_clients``); every gateway process picks the change
up within a second (``gateway.destination_members``), with no restart.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import GatewayConfig

destinations_app = typer.Typer(help="Which clients act for a destination, at run time.")

Destination = Annotated[str, typer.Argument(help="The destination's name in the config.")]
ClientId = Annotated[str, typer.Argument(help="The client that acts for it.")]


def _known_destination(config: GatewayConfig, name: str) -> None:
    names = [d.name for d in config.destinations]
    if name not in names:
        typer.echo(f"gateway: no destination {name!r} (known: {', '.join(names)})", err=True)
        raise typer.Exit(1)


def _change(destination: str, client_id: str, *, member: bool) -> None:
    from gateway.cli import _config, _settings, _with_engine
    from gateway.context import utc_now
    from gateway.destination_members import set_member
    from gateway.store.clients import get_client_record

    settings = _settings()
    config = _config(settings)
    _known_destination(config, destination)

    async def apply(engine: AsyncEngine) -> bool:
        async with engine.begin() as conn:
            in_yaml = any(c.client_id == client_id for c in config.clients)
            if member and not in_yaml and await get_client_record(conn, client_id) is None:
                return False
            await set_member(conn, destination, client_id, member=member, now=utc_now())
            return True

    if not _with_engine(settings, apply):
        typer.echo(
            f"gateway: no client {client_id!r}; register it first (gateway clients add)", err=True
        )
        raise typer.Exit(1)


@destinations_app.command("add-client")
def add_client(destination: Destination, client_id: ClientId) -> None:
    """Let CLIENT_ID act for DESTINATION as the recipient of its referrals."""
    _change(destination, client_id, member=True)
    typer.echo(f"{client_id} now acts for {destination}")


@destinations_app.command("remove-client")
def remove_client(destination: Destination, client_id: ClientId) -> None:
    """Stop CLIENT_ID acting for DESTINATION (also when the YAML names it)."""
    _change(destination, client_id, member=False)
    typer.echo(f"{client_id} no longer acts for {destination}")


@destinations_app.command("clients")
def list_clients(destination: Destination) -> None:
    """The clients acting for DESTINATION now (YAML and run-time changes)."""
    from gateway.cli import _config, _settings, _with_engine
    from gateway.destination_members import configured_members, merged, stored_changes

    settings = _settings()
    config = _config(settings)
    _known_destination(config, destination)

    async def fetch(engine: AsyncEngine) -> list[str]:
        async with engine.connect() as conn:
            changes = await stored_changes(conn)
        return merged(configured_members(config)[destination], changes.get(destination, {}))

    for client_id in _with_engine(settings, fetch):
        typer.echo(client_id)
