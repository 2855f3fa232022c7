"""Passwords (argon2id, RFC 9106) and one-time codes (TOTP, RFC 6238). Pure but for hashing."""

from __future__ import annotations

from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ISSUER = "referral-gateway"
_hasher = PasswordHasher()  # argon2id with the RFC 9106 low-memory profile
_UNUSED = _hasher.hash("an unused password, verified so a missing account takes as long")
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; as slow for a missing hash as for a real one."""
    try:
        return _hasher.verify(stored or _UNUSED, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    return None


def new_totp_secret() -> str:
    return pyotp.random_base32()


def otpauth_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def totp_code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def verify_totp(secret: str, code: str, at: datetime) -> bool:
    """RFC 6238 with 30-second steps, one step of clock drift either way."""
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return False
    return pyotp.TOTP(secret).verify(code, for_time=at, valid_window=1)
