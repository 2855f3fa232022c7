"""Route guard: 401 for missing, malformed, expired or foreign tokens; 403 without the scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from smart_auth_support import NOW, PUBLIC_URL, ec_key

from gateway.auth.access_tokens import (
    AccessTokenVerifier,
    GatewaySigningKey,
    Principal,
    TrustedIssuer,
    issue_access_token,
)
from gateway.auth.dependencies import Authenticator
from gateway.auth.errors import InvalidScope
from gateway.auth.scopes import ScopeSet
from gateway.errors import AuthenticationRequired, GatewayError

GATEWAY_KEY = GatewaySigningKey(ec_key("gw-1"))
FOREIGN_KEY = GatewaySigningKey(ec_key("gw-1"))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def token(scope: str, *, key: GatewaySigningKey = GATEWAY_KEY, issuer: str = PUBLIC_URL) -> str:
    issued = issue_access_token(
        key,
        issuer=issuer,
        client_id="app-a",
        scopes=ScopeSet.parse(scope),
        now=NOW,
        token_id="tok-1",
    )
    return issued.access_token


def build_app(clock: Clock) -> FastAPI:
    app = FastAPI()
    app.state.token_verifier = AccessTokenVerifier(
        [TrustedIssuer.gateway(GATEWAY_KEY, PUBLIC_URL)], clock=clock
    )

    @app.exception_handler(GatewayError)
    async def render(_: Request, error: GatewayError) -> JSONResponse:
        headers = {}
        if isinstance(error, AuthenticationRequired):
            headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
        return JSONResponse({"issue": error.message}, error.status_code, headers=headers)

    @app.post("/triage-results")
    async def submit(
        principal: Annotated[Principal, Depends(Authenticator("system/ServiceRequest.c"))],
    ) -> dict[str, str]:
        return {"client_id": principal.client_id}

    @app.get("/disclosures")
    async def disclosures(
        principal: Annotated[
            Principal, Depends(Authenticator(any_of=["system/AuditEvent.rs", "system/*.rs"]))
        ],
    ) -> dict[str, bool]:
        return {"operator": principal.is_operator}

    return app


class Rig:
    def __init__(self) -> None:
        self.clock = Clock()
        transport = httpx.ASGITransport(build_app(self.clock))
        self.http = httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)

    async def submit(self, authorization: str | None) -> httpx.Response:
        headers = {"Authorization": authorization} if authorization else {}
        return await self.http.post("/triage-results", headers=headers)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    rig = Rig()
    yield rig
    await rig.http.aclose()


def challenge(response: httpx.Response) -> str:
    assert response.status_code == 401
    return response.headers["www-authenticate"]


async def test_token_with_the_scope_passes(rig: Rig) -> None:
    response = await rig.submit(f"Bearer {token('system/ServiceRequest.cr')}")
    assert response.json() == {"client_id": "app-a"}


async def test_missing_token_is_401_invalid_request(rig: Rig) -> None:
    assert challenge(await rig.submit(None)) == 'Bearer error="invalid_request"'


async def test_other_scheme_is_401_invalid_request(rig: Rig) -> None:
    assert challenge(await rig.submit("Basic dXNlcjpwYXNz")) == 'Bearer error="invalid_request"'


async def test_malformed_token_is_401_invalid_token(rig: Rig) -> None:
    assert challenge(await rig.submit("Bearer not.a.jwt")) == 'Bearer error="invalid_token"'


async def test_expired_token_is_401_invalid_token(rig: Rig) -> None:
    bearer = f"Bearer {token('system/ServiceRequest.c')}"
    rig.clock.now += timedelta(minutes=10)
    assert challenge(await rig.submit(bearer)) == 'Bearer error="invalid_token"'


async def test_token_signed_by_a_foreign_key_is_401(rig: Rig) -> None:
    bearer = f"Bearer {token('system/ServiceRequest.c', key=FOREIGN_KEY)}"
    assert challenge(await rig.submit(bearer)) == 'Bearer error="invalid_token"'


async def test_token_from_a_foreign_issuer_is_401(rig: Rig) -> None:
    bearer = f"Bearer {token('system/ServiceRequest.c', issuer='https://evil.example')}"
    assert challenge(await rig.submit(bearer)) == 'Bearer error="invalid_token"'


async def test_token_without_the_scope_is_403_naming_it(rig: Rig) -> None:
    response = await rig.submit(f"Bearer {token('system/ServiceRequest.r')}")
    assert response.status_code == 403
    assert "system/ServiceRequest.c" in response.json()["issue"]


@pytest.mark.parametrize(
    ("scope", "status"),
    [("system/AuditEvent.rs", 200), ("system/*.rs", 200), ("system/AuditEvent.r", 403)],
)
async def test_any_of_accepts_each_alternative(rig: Rig, scope: str, status: int) -> None:
    headers = {"Authorization": f"Bearer {token(scope)}"}
    response = await rig.http.get("/disclosures", headers=headers)
    assert response.status_code == status


def test_authenticator_needs_a_scope() -> None:
    with pytest.raises(ValueError, match="scope"):
        Authenticator()


def test_authenticator_refuses_a_malformed_scope_at_startup() -> None:
    with pytest.raises(InvalidScope):
        Authenticator("system/ServiceRequest.rc")
