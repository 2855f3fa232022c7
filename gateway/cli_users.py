"""``gateway users add|list|disable|reset-password|reset-totp`` (CONTRACT.md v1.1 "Console")."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.console.accounts import Account, AccountError, ConsoleRole

users_app = typer.Typer(help="Console accounts: add, list, disable, reset a password or TOTP.")


def _read_password(from_stdin: bool) -> str:
    from gateway.console.credentials import password_problem

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            typer.echo("gateway: the two passwords differ", err=True)
            raise typer.Exit(2)
    problem = password_problem(password)
    if problem:
        typer.echo(f"gateway: {problem}", err=True)
        raise typer.Exit(2)
    return password


def _check_destinations(role: ConsoleRole, destinations: list[str]) -> None:
    from gateway.cli import _config, _settings
    from gateway.config import CrisisDestination

    config = _config(_settings())
    known = {d.name: d for d in config.destinations}
    for name in destinations:
        if name not in known:
            typer.echo(f"gateway: --destination {name}: no such destination", err=True)
            raise typer.Exit(2)
        if role is ConsoleRole.CRISIS_RESPONDER and not isinstance(known[name], CrisisDestination):
            typer.echo(f"gateway: --destination {name}: not a crisis destination", err=True)
            raise typer.Exit(2)


def _run(action: object) -> object:
    from gateway.cli import _settings, _with_engine

    try:
        return _with_engine(_settings(), action)  # type: ignore[arg-type]
    except AccountError as exc:
        typer.echo(f"gateway: {exc}", err=True)
        raise typer.Exit(1) from None


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument()],
    role: Annotated[ConsoleRole, typer.Option("--role", case_sensitive=False)],
    destination: Annotated[
        list[str] | None, typer.Option("--destination", help="A destination it acts for.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    totp: Annotated[bool, typer.Option("--totp", help="Require a one-time code too.")] = False,
) -> None:
    """Add a console account; prints the otpauth:// URI of its second factor once."""
    from gateway.console.accounts import add_account
    from gateway.console.credentials import hash_password, new_totp_secret, otpauth_uri
    from gateway.context import utc_now

    destinations = list(dict.fromkeys(destination or []))
    if not username.strip() or len(username) > 100:
        typer.echo("gateway: a username of 1 to 100 characters is required", err=True)
        raise typer.Exit(2)
    _check_destinations(role, destinations)
    password_hash = hash_password(_read_password(password_stdin))
    secret = new_totp_secret() if totp or role.needs_second_factor else None

    async def add(engine: AsyncEngine) -> Account:
        async with engine.begin() as conn:
            return await add_account(
                conn,
                username=username,
                role=role,
                destinations=tuple(destinations),
                password_hash=password_hash,
                totp_secret=secret,
                now=utc_now(),
            )

    _run(add)
    typer.echo(f"added {username} ({role.value})")
    if secret is not None:
        typer.echo("Add this to an authenticator app now; it is not shown again:")
        typer.echo(otpauth_uri(secret, username))


@users_app.command("list")
def users_list() -> None:
    """List console accounts: username, role, destinations, second factor, state."""
    from gateway.console.accounts import list_accounts

    async def fetch(engine: AsyncEngine) -> list[Account]:
        async with engine.connect() as conn:
            return await list_accounts(conn)

    accounts = _run(fetch)
    assert isinstance(accounts, list)
    for account in accounts:
        typer.echo(
            f"{account.username}\t{account.role.value}\t{','.join(account.destinations) or '-'}"
            f"\t{'totp' if account.totp_secret else 'password'}"
            f"\t{'disabled' if account.disabled else 'active'}"
        )
    if not accounts:
        typer.echo("no console accounts")


def _change(username: str, **values: object) -> None:
    from gateway.console.accounts import change_account
    from gateway.console.sessions import end_sessions_of
    from gateway.context import utc_now

    async def change(engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await change_account(conn, username, utc_now(), **values)
            await end_sessions_of(conn, username)

    _run(change)


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable an account and end its sessions."""
    _change(username, disabled=True)
    typer.echo(f"disabled {username}")


@users_app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a new password (and lift a lockout); ends the account's sessions."""
    from gateway.console.accounts import clear_failures
    from gateway.console.credentials import hash_password

    _change(username, password_hash=hash_password(_read_password(password_stdin)))

    async def clear(engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await clear_failures(conn, username)

    _run(clear)
    typer.echo(f"password of {username} reset")


@users_app.command("reset-totp")
def users_reset_totp(username: Annotated[str, typer.Argument()]) -> None:
    """Give an account a new TOTP secret; prints its otpauth:// URI once."""
    from gateway.console.credentials import new_totp_secret, otpauth_uri

    secret = new_totp_secret()
    _change(username, totp_secret=secret)
    typer.echo("Add this to an authenticator app now; it is not shown again:")
    typer.echo(otpauth_uri(secret, username))
