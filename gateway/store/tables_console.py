"""Tables of the console (CONTRACT.md v1.1 "Console"): accounts, sign-in failures, sessions."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from gateway.store.tables import UtcDateTime, metadata

console_users = Table(
    "console_users",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("role", String(32), nullable=False),
    # operator | crisis-responder | recipient | privacy-officer
    Column("destinations", Text, nullable=False),
    # JSON list of destination names the account acts for.
    Column("password_hash", String(200)),
    # argon2id; NULL for an account that signs in only through single sign-on.
    Column("totp_secret", String(64)),
    # base32 RFC 6238 secret; NULL when no second factor is set.
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

console_login_failures = Table(
    "console_login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_console_login_failures_user_at", "username", "at"),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    # SHA-256 of the cookie value: the cookie itself is never stored.
    Column("username", String(100), nullable=False, index=True),
    Column("stage", String(16), nullable=False),
    # "second-factor" (password checked, code due) or "signed-in".
    Column("csrf_token", String(64), nullable=False),
    Column("next_path", String(500)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
)

console_oidc_flows = Table(
    "console_oidc_flows",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    # SHA-256 of the OAuth ``state``, which the browser also holds in a cookie.
    Column("nonce", String(100), nullable=False),
    Column("code_verifier", String(100), nullable=False),
    Column("next_path", String(500)),
    Column("created_at", UtcDateTime(), nullable=False),
)
