"""``gateway keys rotate|list``: the gateway's own signing keys (docs/runbooks/key-rotation.md)."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.keyring import PURPOSES, Purpose, StoredKey

keys_app = typer.Typer(help="The gateway's signing keys: rotate and list.", no_args_is_help=True)


def _which(value: str) -> Purpose:
    for purpose in PURPOSES:
        if value == purpose:
            return purpose
    raise typer.BadParameter(f"must be one of {', '.join(PURPOSES)}")


@keys_app.command("rotate")
def keys_rotate(
    which: Annotated[
        str,
        typer.Option(
            "--which", help="access-tokens (what /auth/token signs) or ehr-client (towards EHRs)."
        ),
    ] = "access-tokens",
) -> None:
    """Make a new signing key and sign with it from now on; the old one stays published
    (and its tokens valid) until what it signed has expired. No restart needed."""
    from gateway.auth.keyring import rotate
    from gateway.cli import _settings, _with_engine
    from gateway.context import utc_now
    from gateway.store.signing_keys import DatabaseKeyStore

    purpose = _which(which)
    now = utc_now()
    kid = f"{'gw' if purpose == 'access-tokens' else 'gw-ehr'}-{now:%Y%m%d}-{secrets.token_hex(4)}"

    async def run(engine: AsyncEngine) -> StoredKey:
        return await rotate(DatabaseKeyStore(engine, utc_now), purpose, now=now, kid=kid)

    key = _with_engine(_settings(), run)
    typer.echo(f"rotated {purpose}: now signing with {key.kid} ({key.alg})")


@keys_app.command("list")
def keys_list() -> None:
    """Every key: kid, use, algorithm, created, retired, published until."""
    from gateway.cli import _settings, _with_engine
    from gateway.context import fhir_instant, utc_now
    from gateway.store.signing_keys import DatabaseKeyStore

    async def run(engine: AsyncEngine) -> list[StoredKey]:
        return await DatabaseKeyStore(engine, utc_now).all_keys()

    keys = _with_engine(_settings(), run)
    if not keys:
        typer.echo("no keys yet: the gateway stores its key file as the first at its first start")
    typer.echo("kid\tuse\talg\tcreated\tretired\tpublished until")
    for key in keys:
        typer.echo(
            "\t".join(
                [
                    key.kid,
                    key.purpose,
                    key.alg,
                    fhir_instant(key.created_at),
                    fhir_instant(key.retired_at) if key.retired_at else "signing",
                    fhir_instant(key.unpublish_at) if key.unpublish_at else "-",
                ]
            )
        )
