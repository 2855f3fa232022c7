"""A gateway wired for tests: temporary database, generated client keys, real HTTP
semantics through httpx's ASGI transport, and SMART tokens obtained the real way."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from connectors.base import Connector
from gateway.app import create_app
from gateway.bootstrap import Gateway, build_gateway
from gateway.config import parse_config
from gateway.delivery.retry import RetryPolicy
from gateway.settings import Settings

PUBLIC_URL = "http://gateway.test"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

APP_SCOPES = [
    "system/ServiceRequest.c", "system/ServiceRequest.r", "system/ServiceRequest.rs",
    "system/Task.rs", "system/Consent.c", "system/Consent.r", "system/Consent.u",
    "system/Patient.rs", "system/Observation.rs", "system/QuestionnaireResponse.rs",
    "system/RiskAssessment.rs", "system/Provenance.rs",
]
OPERATOR_SCOPES = ["system/*.rs", "system/Task.u", "system/Patient.d", "system/AuditEvent.rs"]


def new_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-384", parameters={"kid": kid, "alg": "ES384", "use": "sig"})


def public_jwks(key: ECKey) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False)]}


def client_assertion(
    key: ECKey, client_id: str, token_url: str, *, now: datetime | None = None,
    lifetime: int = 240, jti: str | None = None,
) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "iss": client_id, "sub": client_id, "aud": token_url,
        "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
        "iat": int(now.timestamp()), "jti": jti or uuid.uuid4().hex,
    }
    header = {"alg": "ES384", "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=["ES384"])


def base_config(keys: dict[str, ECKey], **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "clients": [
            {"client_id": "app-a", "jwks": public_jwks(keys["app-a"]), "scopes": APP_SCOPES},
            {"client_id": "app-b", "jwks": public_jwks(keys["app-b"]), "scopes": APP_SCOPES},
            {"client_id": "operator", "jwks": public_jwks(keys["operator"]),
             "scopes": OPERATOR_SCOPES},
        ],
        "destinations": [
            {"name": "inbox", "type": "inbox"},
            {"name": "community-inbox", "type": "inbox", "consent_category": "community"},
            {"name": "crisis-desk", "type": "crisis"},
        ],
        "routing": [
            {"name": "imminent", "when": {"risk_level": ["imminent"]}, "send_to": ["crisis-desk"]},
            {"name": "clinical", "when": {"pathway": ["clinical"]}, "send_to": ["inbox"]},
            {"name": "community", "when": {"pathway": ["community"]},
             "send_to": ["community-inbox"]},
            {"name": "fallback", "send_to": ["inbox"]},
        ],
    }
    config.update(extra)
    return config


def triage(name: str = "contract-example", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "triage" / f"{name}.json").read_text())
    body.update(changes)
    return body


@dataclass
class Harness:
    gateway: Gateway
    client: httpx.AsyncClient
    keys: dict[str, ECKey]
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    async def token(self, client_id: str = "app-a", scope: str | None = None) -> str:
        key = self.keys[client_id]
        if scope is None:
            scope = " ".join(OPERATOR_SCOPES if client_id == "operator" else APP_SCOPES)
        cached = self.tokens.get((client_id, scope))
        if cached:
            return cached
        response = await self.client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": client_assertion(key, client_id, f"{PUBLIC_URL}/auth/token"),
                "scope": scope,
            },
        )
        assert response.status_code == 200, response.text
        token = str(response.json()["access_token"])
        self.tokens[(client_id, scope)] = token
        return token

    async def auth(self, client_id: str = "app-a", scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(client_id, scope)}"}

    async def submit(
        self, body: dict[str, Any] | bytes, client_id: str = "app-a"
    ) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.client.post(
            "/triage-results", content=content,
            headers={**await self.auth(client_id), "Content-Type": "application/json"},
        )

    async def get(self, path: str, client_id: str = "app-a", **params: Any) -> httpx.Response:
        return await self.client.get(path, headers=await self.auth(client_id), params=params)

    async def deliver_all(self) -> int:
        return await self.gateway.worker.drain()


@asynccontextmanager
async def running_gateway(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    config: Callable[[dict[str, ECKey]], dict[str, Any]] | None = None,
    connectors: dict[str, Connector] | None = None,
    clock: Callable[[], datetime] | None = None,
    settings: dict[str, Any] | None = None,
    retry_policy: RetryPolicy | None = None,
) -> AsyncIterator[Harness]:
    keys = {name: new_key(f"{name}-1") for name in ("app-a", "app-b", "operator")}
    cfg = parse_config((config or base_config)(keys))
    signing_key = tmp_path / "signing-key.pem"
    if not signing_key.exists():
        signing_key.write_bytes(new_key("gateway-1").as_pem(private=True))
    values: dict[str, Any] = {
        "env": "test",
        "public_url": PUBLIC_URL,
        "database_url": database_url or f"sqlite+aiosqlite:///{tmp_path}/gateway.db",
        "signing_key_file": str(signing_key),
        "run_worker": False,
    }
    values.update(settings or {})
    gateway_settings = Settings(**values)
    extra: dict[str, Any] = {}
    if clock is not None:
        extra["clock"] = clock
    gateway = build_gateway(
        gateway_settings, cfg, connectors=connectors,
        retry_policy=retry_policy or RetryPolicy(quick_retries=0, sleep=_no_sleep), **extra,
    )
    await gateway.start()
    app = create_app(gateway)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        try:
            yield Harness(gateway=gateway, client=client, keys=keys)
        finally:
            await gateway.close()
            await _settle()


async def _no_sleep(_seconds: float) -> None:
    return None


async def _settle(seconds: float = 5.0) -> None:
    """Let tasks still finishing after ``Gateway.close()`` end on their own.

    Cancelling such a task while its database connection is being returned can leave
    it waiting forever on a driver thread that has already stopped (see the note in
    docs/decisions.md); waiting for it is what a graceful shutdown does.
    """
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=seconds)

