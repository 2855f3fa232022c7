"""`gateway users ...`, argon2id, TOTP and the lockout rule (CONTRACT.md v1.1 "Console")."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.console.accounts import get_account, locked_until
from gateway.console.config import ConsoleConfig
from gateway.console.credentials import totp_code, verify_password, verify_totp
from gateway.store.db import create_engine

PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/g.db")
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    return CliRunner()


def _account(tmp_path: Path, username: str):  # type: ignore[no-untyped-def]
    async def read():  # type: ignore[no-untyped-def]
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/g.db")
        try:
            async with engine.connect() as conn:
                return await get_account(conn, username)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_operator_gets_a_totp_uri_once_and_an_argon2id_hash(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(
        app, ["users", "add", "olive", "--role", "operator", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    uri = re.search(r"otpauth://totp/\S+", result.output)
    assert uri and "secret=" in uri.group(0)
    account = _account(tmp_path, "olive")
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert verify_password(account.password_hash, PASSWORD)
    assert not verify_password(account.password_hash, PASSWORD + "x")
    secret = re.search(r"secret=([A-Z2-7]+)", uri.group(0)).group(1)  # type: ignore[union-attr]
    assert secret == account.totp_secret
    listed = cli.invoke(app, ["users", "list"])
    assert "olive\toperator" in listed.output and "otpauth" not in listed.output


def test_recipient_needs_a_known_destination_and_no_totp_unless_asked(cli: CliRunner) -> None:
    unknown = cli.invoke(
        app, ["users", "add", "rita", "--role", "recipient", "--destination", "nowhere",
              "--password-stdin"], input=PASSWORD + "\n",
    )
    assert unknown.exit_code != 0 and "nowhere" in unknown.output
    none = cli.invoke(
        app, ["users", "add", "rita", "--role", "recipient", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert none.exit_code != 0
    ok = cli.invoke(
        app, ["users", "add", "rita", "--role", "recipient", "--destination", "inbox",
              "--password-stdin"], input=PASSWORD + "\n",
    )
    assert ok.exit_code == 0 and "otpauth" not in ok.output
    again = cli.invoke(
        app, ["users", "add", "rita", "--role", "recipient", "--destination", "inbox",
              "--password-stdin", "--totp"], input=PASSWORD + "\n",
    )
    assert again.exit_code != 0 and "exists" in again.output


def test_crisis_responder_only_for_crisis_destinations(cli: CliRunner) -> None:
    wrong = cli.invoke(
        app, ["users", "add", "cara", "--role", "crisis-responder", "--destination", "inbox",
              "--password-stdin"], input=PASSWORD + "\n",
    )
    assert wrong.exit_code != 0
    right = cli.invoke(
        app, ["users", "add", "cara", "--role", "crisis-responder", "--destination",
              "crisis-desk", "--password-stdin", "--totp"], input=PASSWORD + "\n",
    )
    assert right.exit_code == 0 and "otpauth://" in right.output


def test_disable_reset_password_and_reset_totp(cli: CliRunner, tmp_path: Path) -> None:
    cli.invoke(app, ["users", "add", "pia", "--role", "privacy-officer", "--password-stdin"],
               input=PASSWORD + "\n")
    before = _account(tmp_path, "pia")
    reset = cli.invoke(app, ["users", "reset-totp", "pia"])
    assert reset.exit_code == 0 and "otpauth://" in reset.output
    assert _account(tmp_path, "pia").totp_secret != before.totp_secret
    cli.invoke(app, ["users", "reset-password", "pia", "--password-stdin"],
               input="another long password\n")
    assert verify_password(_account(tmp_path, "pia").password_hash, "another long password")
    assert cli.invoke(app, ["users", "disable", "pia"]).exit_code == 0
    assert _account(tmp_path, "pia").disabled
    assert cli.invoke(app, ["users", "disable", "nobody"]).exit_code != 0


def test_a_short_password_is_refused(cli: CliRunner) -> None:
    result = cli.invoke(
        app, ["users", "add", "sam", "--role", "recipient", "--destination", "inbox",
              "--password-stdin"], input="short\n",
    )
    assert result.exit_code != 0


def test_totp_codes_follow_rfc6238_steps() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    code = totp_code(secret, T0)
    assert verify_totp(secret, code, T0 + timedelta(seconds=29))
    assert not verify_totp(secret, code, T0 + timedelta(minutes=5))
    assert not verify_totp(secret, "abcdef", T0)


def test_five_failures_within_the_window_lock_for_the_lock_period() -> None:
    config = ConsoleConfig()
    four = [T0 + timedelta(minutes=i) for i in range(4)]
    assert locked_until(four, config, T0 + timedelta(minutes=4)) is None
    five = [*four, T0 + timedelta(minutes=4)]
    assert locked_until(five, config, T0 + timedelta(minutes=5)) == T0 + timedelta(minutes=19)
    assert locked_until(five, config, T0 + timedelta(minutes=19)) is None
    spread = [T0 + timedelta(minutes=4 * i) for i in range(5)]  # 16 minutes apart end to end
    assert locked_until(spread, config, T0 + timedelta(minutes=17)) is None
