"""``gateway clients add|list|remove``: triage-app clients registered at run time.

A registration is refused, with one line naming the problem, when its JWKS holds
private key material (``d p q dp dq qi`` or a symmetric ``k``: RFC 7517 §9.2, SMART
client-confidential-asymmetric.md registers public keys only), when a scope breaks
the SMART v2 grammar (scopes-and-launch-context.md) or names a type the gateway does
not serve, when the client id is taken (unless ``--replace``), or when a webhook
secret is a placeholder or too short (Standard Webhooks).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.errors import InvalidScope
from gateway.auth.scopes import parse_scope
from gateway.fhir_search import SERVED_TYPES

clients_app = typer.Typer(help="Register, list and remove triage-app clients.")
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
"""JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4)."""
SCOPE_TYPES = frozenset({*SERVED_TYPES, "Subscription", "*"})


class Refused(ValueError):
    """A registration the gateway will not store; the message says why."""


def check_public_jwks(document: Any) -> dict[str, Any]:
    """The JWK Set, if every key in it is a public RSA or EC key."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise Refused("the JWKS file must hold a JWK Set: {\"keys\": [...]}")
    if not document["keys"]:
        raise Refused("the JWKS holds no key")
    for n, key in enumerate(document["keys"]):
        if not isinstance(key, dict):
            raise Refused(f"keys[{n}] is not a JWK")
        private = [m for m in PRIVATE_MEMBERS if m in key]
        if private:
            raise Refused(
                f"keys[{n}] holds private key material ({', '.join(private)}): "
                "register the public key only"
            )
        if key.get("kty") not in ("RSA", "EC"):
            raise Refused(f"keys[{n}] has kty {key.get('kty')!r}: only RSA and EC keys are used")
        if not key.get("kid"):
            raise Refused(f"keys[{n}] has no kid: SMART clients pick their key by kid")
    return document


def check_scopes(texts: Iterable[str]) -> list[str]:
    """The scopes, if each is SMART grammar on a type the gateway serves."""
    checked = []
    for text in texts:
        try:
            scope = parse_scope(text)
        except InvalidScope:
            raise Refused(f"scope {text!r} is not a SMART v2 scope like system/Task.rs") from None
        if scope.resource_type not in SCOPE_TYPES:
            raise Refused(f"scope {text!r}: the gateway does not serve {scope.resource_type}")
        checked.append(text)
    if not checked:
        raise Refused("give at least one scope")
    return checked


def check_url(option: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise Refused(f"{option} must be an http(s) URL")
    return url


@clients_app.command("add")
def clients_add(
    client_id: Annotated[str, typer.Option("--client-id")],
    scopes: Annotated[str, typer.Option(help="Space-separated SMART v2 scopes.")],
    jwks_file: Annotated[Path | None, typer.Option("--jwks-file")] = None,
    jwks_uri: Annotated[str | None, typer.Option("--jwks-uri")] = None,
    webhook_url: Annotated[
        str | None, typer.Option("--webhook-url", help="Where referral status changes go.")
    ] = None,
    webhook_secret: Annotated[
        str | None, typer.Option("--webhook-secret", help="whsec_ + base64 of >= 24 bytes.")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace an existing client.")] = False,
) -> None:
    """Register a triage-app client (stored in the database)."""
    from pydantic import ValidationError

    from gateway.cli import _settings, _with_engine
    from gateway.config import ClientConfig, WebhookTarget
    from gateway.context import utc_now
    from gateway.store.clients import get_client_record, upsert_client

    try:
        if (jwks_file is None) == (jwks_uri is None):
            raise Refused("give exactly one of --jwks-file or --jwks-uri")
        jwks = check_public_jwks(json.loads(jwks_file.read_text())) if jwks_file else None
        if jwks_uri:
            check_url("--jwks-uri", jwks_uri)
        if (webhook_url is None) != (webhook_secret is None):
            raise Refused("give --webhook-url and --webhook-secret together")
        webhook = None
        if webhook_url and webhook_secret:
            url = check_url("--webhook-url", webhook_url)
            webhook = WebhookTarget(url=url, secret=webhook_secret)
        config = ClientConfig(
            client_id=client_id,
            jwks=jwks,
            jwks_uri=jwks_uri,
            scopes=check_scopes(scopes.split()),
            webhook=webhook,
        )
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))} {e['msg']}" for e in exc.errors())
        typer.echo(f"gateway: cannot register {client_id}: {problem}", err=True)
        raise typer.Exit(2) from None
    except (Refused, OSError, ValueError) as exc:
        typer.echo(f"gateway: cannot register {client_id}: {exc}", err=True)
        raise typer.Exit(2) from None

    async def add(engine: AsyncEngine) -> bool:
        async with engine.begin() as conn:
            if not replace and await get_client_record(conn, client_id) is not None:
                return False
            await upsert_client(conn, config, source="cli", now=utc_now())
            return True

    if not _with_engine(_settings(), add):
        typer.echo(
            f"gateway: client {client_id} exists already; add --replace to replace it", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"{'replaced' if replace else 'registered'} {client_id}")


@clients_app.command("list")
def clients_list() -> None:
    """List registered clients, their key source and scopes."""
    from gateway.cli import _settings, _with_engine
    from gateway.store.clients import ClientRecord, list_clients

    async def fetch(engine: AsyncEngine) -> list[ClientRecord]:
        async with engine.connect() as conn:
            return await list_clients(conn)

    for record in _with_engine(_settings(), fetch):
        keys = record.client.jwks_uri or ""
        if record.client.jwks:
            keys = f"inline JWKS ({len(record.client.jwks.get('keys', []))} keys)"
        webhook = record.webhook_url or "-"
        typer.echo(
            f"{record.client.client_id}\t{record.source}\t{keys}\t{webhook}\t"
            f"{' '.join(record.client.scopes)}"
        )


@clients_app.command("remove")
def clients_remove(client_id: Annotated[str, typer.Option("--client-id")]) -> None:
    """Remove a client: from this moment every token it holds is refused (401), in every
    gateway process."""
    from gateway.cli import _settings, _with_engine
    from gateway.store.clients import remove_client

    async def remove(engine: AsyncEngine) -> bool:
        async with engine.begin() as conn:
            return await remove_client(conn, client_id)

    if not _with_engine(_settings(), remove):
        typer.echo(f"gateway: no client {client_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {client_id}")
