"""Fakes of the auth ports and builders for keys and client assertions."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, Key, RSAKey

from gateway.auth.ports import (
    AuthAuditSink,
    AuthEvent,
    ClientRegistry,
    JtiStore,
    RegisteredClient,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TOKEN_URL = "https://gateway.example.org/auth/token"
PUBLIC_URL = "https://gateway.example.org"
CLIENT_ID = "triage-app"
JWKS_URI = "https://app.example.org/jwks"


class FakeClientRegistry(ClientRegistry):
    def __init__(self, *clients: RegisteredClient) -> None:
        self.clients = {client.client_id: client for client in clients}

    async def get(self, client_id: str) -> RegisteredClient | None:
        return self.clients.get(client_id)


class FakeJtiStore(JtiStore):
    def __init__(self, clock: Callable[[], datetime] = lambda: NOW) -> None:
        self.seen: dict[tuple[str, str], datetime] = {}
        self.clock = clock

    async def remember(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        key = (client_id, jti)
        previous = self.seen.get(key)
        if previous is not None and previous > self.clock():
            return False
        self.seen[key] = expires_at
        return True


class FakeAuditSink(AuthAuditSink):
    def __init__(self) -> None:
        self.events: list[AuthEvent] = []

    async def record(self, event: AuthEvent) -> None:
        self.events.append(event)


def rsa_key(kid: str = "rsa-1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


def ec_key(kid: str = "ec-1", curve: str = "P-384") -> ECKey:
    return ECKey.generate_key(curve, parameters={"kid": kid})


def public_jwks(*keys: Key) -> dict[str, Any]:
    return {"keys": [dict(key.as_dict(private=False)) for key in keys]}


def assertion_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": TOKEN_URL,
        "exp": int((NOW + timedelta(seconds=240)).timestamp()),
        "iat": int(NOW.timestamp()),
        "jti": "jti-1",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(key: Key, claims: dict[str, Any], *, alg: str, **header: Any) -> str:
    """A compact JWS; header entries given as ``None`` are left out."""
    full_header: dict[str, Any] = {"alg": alg, "typ": "JWT", "kid": key.kid}
    full_header.update(header)
    full_header = {name: value for name, value in full_header.items() if value is not None}
    return jws.serialize_compact(full_header, json.dumps(claims), key, algorithms=[alg])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS put together by hand, for tokens no library would sign."""
    encoded_header = b64url(json.dumps(header).encode())
    encoded_claims = b64url(json.dumps(claims).encode())
    return f"{encoded_header}.{encoded_claims}.{b64url(signature)}"
