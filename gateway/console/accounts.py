"""Console accounts: roles, destinations, password hash, second factor, lockout.

CONTRACT.md v1.1 "Console": roles ``operator``, ``crisis-responder``, ``recipient``,
``privacy-officer``; operators and privacy officers must use a second factor; five
failures for a username within 15 minutes lock it for 15 minutes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.console.config import ConsoleConfig
from gateway.store.tables_console import console_login_failures, console_users


class ConsoleRole(StrEnum):
    OPERATOR = "operator"
    CRISIS_RESPONDER = "crisis-responder"
    RECIPIENT = "recipient"
    PRIVACY_OFFICER = "privacy-officer"

    @property
    def needs_second_factor(self) -> bool:
        return self in (ConsoleRole.OPERATOR, ConsoleRole.PRIVACY_OFFICER)

    @property
    def needs_destinations(self) -> bool:
        return self in (ConsoleRole.CRISIS_RESPONDER, ConsoleRole.RECIPIENT)


class AccountError(Exception):
    """A ``gateway users`` request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Account:
    username: str
    role: ConsoleRole
    destinations: tuple[str, ...]
    password_hash: str | None
    totp_secret: str | None
    disabled: bool

    @property
    def is_operator(self) -> bool:
        return self.role is ConsoleRole.OPERATOR


def _account(row: object) -> Account:
    return Account(
        username=row.username,  # type: ignore[attr-defined]
        role=ConsoleRole(row.role),  # type: ignore[attr-defined]
        destinations=tuple(json.loads(row.destinations)),  # type: ignore[attr-defined]
        password_hash=row.password_hash,  # type: ignore[attr-defined]
        totp_secret=row.totp_secret,  # type: ignore[attr-defined]
        disabled=bool(row.disabled),  # type: ignore[attr-defined]
    )


async def get_account(conn: AsyncConnection, username: str) -> Account | None:
    row = (
        await conn.execute(select(console_users).where(console_users.c.username == username))
    ).first()
    return _account(row) if row is not None else None


async def list_accounts(conn: AsyncConnection) -> list[Account]:
    rows = await conn.execute(select(console_users).order_by(console_users.c.username))
    return [_account(row) for row in rows]


async def add_account(
    conn: AsyncConnection,
    *,
    username: str,
    role: ConsoleRole,
    destinations: tuple[str, ...],
    password_hash: str | None,
    totp_secret: str | None,
    now: datetime,
) -> Account:
    if role.needs_destinations and not destinations:
        raise AccountError(f"a {role.value} account needs at least one --destination")
    if role.needs_second_factor and totp_secret is None:
        raise AccountError(f"a {role.value} account must use a second factor (TOTP)")
    if await get_account(conn, username) is not None:
        raise AccountError(f"the account {username} exists already")
    await conn.execute(
        insert(console_users).values(
            username=username,
            role=role.value,
            destinations=json.dumps(list(destinations)),
            password_hash=password_hash,
            totp_secret=totp_secret,
            disabled=False,
            created_at=now,
            updated_at=now,
        )
    )
    account = await get_account(conn, username)
    assert account is not None
    return account


async def change_account(
    conn: AsyncConnection, username: str, now: datetime, **values: object
) -> None:
    result = await conn.execute(
        update(console_users)
        .where(console_users.c.username == username)
        .values(updated_at=now, **values)
    )
    if result.rowcount != 1:
        raise AccountError(f"no account {username}")


async def record_failure(conn: AsyncConnection, username: str, now: datetime) -> None:
    await conn.execute(insert(console_login_failures).values(username=username, at=now))


async def clear_failures(conn: AsyncConnection, username: str) -> None:
    await conn.execute(
        delete(console_login_failures).where(console_login_failures.c.username == username)
    )


def locked_until(
    failures: list[datetime], config: ConsoleConfig, now: datetime
) -> datetime | None:
    """When the lock on an account with these failure times ends (None: not locked)."""
    window = timedelta(seconds=config.lockout_window_seconds)
    lock = timedelta(seconds=config.lockout_seconds)
    n = config.lockout_failures
    ordered = sorted(failures)
    until = None
    for i in range(len(ordered) - n + 1):
        last = ordered[i + n - 1]
        if last - ordered[i] <= window and now < last + lock:
            until = last + lock
    return until


async def is_locked(
    conn: AsyncConnection, username: str, config: ConsoleConfig, now: datetime
) -> bool:
    horizon = now - timedelta(seconds=config.lockout_window_seconds + config.lockout_seconds)
    rows = await conn.execute(
        select(console_login_failures.c.at).where(
            console_login_failures.c.username == username, console_login_failures.c.at > horizon
        )
    )
    return locked_until([row[0] for row in rows], config, now) is not None


async def single_sign_on_account(
    conn: AsyncConnection,
    *,
    username: str,
    role: ConsoleRole,
    destinations: tuple[str, ...],
    now: datetime,
) -> Account:
    """The account a provider's ID token names, created or brought up to date with its
    role and destinations. A local account (one with a password) is never taken over."""
    existing = await get_account(conn, username)
    if existing is not None and (existing.password_hash is not None or existing.disabled):
        raise AccountError(f"{username} is a local or disabled account")
    if role.needs_destinations and not destinations:
        raise AccountError(f"a {role.value} account needs at least one destination")
    values = {"role": role.value, "destinations": json.dumps(list(destinations))}
    if existing is None:
        await conn.execute(
            insert(console_users).values(
                username=username, password_hash=None, totp_secret=None, disabled=False,
                created_at=now, updated_at=now, **values,
            )
        )
    else:
        await change_account(conn, username, now, **values)
    account = await get_account(conn, username)
    assert account is not None
    return account
