"""The outbound SMART Backend Services client, against a fake EHR on httpx.MockTransport.

Also pins the known client-side traps: long default assertion lifetime, missing
``kid``, a reused ``jti``, RS384/ES384 not usable.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import ECKey, Key, RSAKey

from connectors.base import PermanentDeliveryError, TransientDeliveryError
from connectors.smart_backend import (
    ASSERTION_TYPE,
    SigningAlgorithm,
    SmartBackendAuth,
    SmartBackendCredentials,
    TokenRefused,
)

BASE_URL = "https://ehr.example.org/fhir"
TOKEN_URL = "https://ehr.example.org/auth/token"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class FakeEhr:
    """Discovery, a token endpoint that verifies assertions, and one FHIR resource."""

    def __init__(self, public_key: Key, alg: str, *, expires_in: int = 300) -> None:
        self.public_key = public_key
        self.alg = alg
        self.expires_in = expires_in
        self.assertions: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.discoveries = 0
        self.resource_calls: list[str | None] = []
        self.resource_statuses: list[int] = []
        self.token_status = 200
        self.token_body: dict[str, Any] | None = None
        self.discovery_body: dict[str, Any] = {"token_endpoint": TOKEN_URL}

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/fhir/.well-known/smart-configuration":
            self.discoveries += 1
            return httpx.Response(200, json=self.discovery_body)
        if str(request.url) == TOKEN_URL:
            return self.token(request)
        self.resource_calls.append(request.headers.get("Authorization"))
        status = self.resource_statuses.pop(0) if self.resource_statuses else 200
        return httpx.Response(status, json={"resourceType": "Task"})

    def token(self, request: httpx.Request) -> httpx.Response:
        assert "Authorization" not in request.headers
        form = {name: values[0] for name, values in parse_qs(request.content.decode()).items()}
        assert form["grant_type"] == "client_credentials"
        assert form["client_assertion_type"] == ASSERTION_TYPE
        verified = jws.deserialize_compact(
            form["client_assertion"], self.public_key, algorithms=[self.alg]
        )
        self.assertions.append((verified.headers(), json.loads(verified.payload)))
        if self.token_status != 200:
            return httpx.Response(self.token_status, json={"error": "invalid_client"})
        if self.token_body is not None:
            return httpx.Response(200, json=self.token_body)
        number = len(self.assertions)
        return httpx.Response(
            200,
            json={
                "access_token": f"token-{number}",
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "scope": form["scope"],
            },
        )


def make_key(alg: SigningAlgorithm) -> RSAKey | ECKey:
    return RSAKey.generate_key(2048) if alg == "RS384" else ECKey.generate_key("P-384")


def rig(
    alg: SigningAlgorithm = "ES384", *, token_url: str | None = TOKEN_URL, **kwargs: Any
) -> tuple[FakeEhr, Clock, httpx.AsyncClient, SmartBackendAuth]:
    key = make_key(alg)
    ehr = FakeEhr(key, alg)
    clock = Clock()
    credentials = SmartBackendCredentials(
        client_id="gateway",
        private_key_pem=key.as_pem(private=True),
        kid="gw-1",
        alg=alg,
        scope="system/ServiceRequest.c system/Task.cru",
        token_url=token_url,
    )
    transport = httpx.MockTransport(ehr.handler)
    auth = SmartBackendAuth(
        credentials,
        base_url=BASE_URL,
        http=httpx.AsyncClient(transport=transport),
        clock=clock,
        **kwargs,
    )
    return ehr, clock, httpx.AsyncClient(transport=transport, auth=auth), auth


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
async def test_assertion_follows_smart_backend_services(alg: SigningAlgorithm) -> None:
    ehr, _, client, _ = rig(alg)
    response = await client.get(f"{BASE_URL}/Task/1")
    assert response.status_code == 200
    assert ehr.resource_calls == ["Bearer token-1"]
    [(header, claims)] = ehr.assertions
    assert header == {"alg": alg, "kid": "gw-1", "typ": "JWT"}
    assert claims["iss"] == claims["sub"] == "gateway"
    assert claims["aud"] == TOKEN_URL
    assert claims["iat"] == int(T0)
    assert 0 < claims["exp"] - T0 <= 300
    assert claims["jti"]


async def test_each_token_request_has_a_new_jti() -> None:
    ehr, clock, client, _ = rig()
    await client.get(f"{BASE_URL}/Task/1")
    clock.now += 400
    await client.get(f"{BASE_URL}/Task/1")
    clock.now += 400
    await client.get(f"{BASE_URL}/Task/1")
    jtis = [claims["jti"] for _, claims in ehr.assertions]
    assert len(jtis) == 3
    assert len(set(jtis)) == 3
    assert [claims["exp"] for _, claims in ehr.assertions] == [
        int(T0) + 300,
        int(T0) + 700,
        int(T0) + 1100,
    ]


def test_assertion_lifetime_beyond_five_minutes_is_refused() -> None:
    with pytest.raises(ValueError, match="lifetime"):
        rig(assertion_lifetime=3600)


async def test_token_url_is_discovered_when_not_configured() -> None:
    ehr, _, client, _ = rig(token_url=None)
    await client.get(f"{BASE_URL}/Task/1")
    await client.get(f"{BASE_URL}/Task/2")
    assert ehr.discoveries == 1
    assert ehr.assertions[0][1]["aud"] == TOKEN_URL


async def test_configured_token_url_skips_discovery() -> None:
    ehr, _, client, _ = rig()
    await client.get(f"{BASE_URL}/Task/1")
    assert ehr.discoveries == 0


async def test_token_is_reused_until_shortly_before_expiry() -> None:
    ehr, clock, client, _ = rig(refresh_margin=30)
    await client.get(f"{BASE_URL}/Task/1")
    clock.now += 269
    await client.get(f"{BASE_URL}/Task/2")
    assert len(ehr.assertions) == 1
    clock.now += 2
    await client.get(f"{BASE_URL}/Task/3")
    assert len(ehr.assertions) == 2
    assert ehr.resource_calls == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


async def test_a_401_gets_one_new_token_and_one_retry() -> None:
    ehr, _, client, _ = rig()
    ehr.resource_statuses = [401, 200]
    response = await client.post(f"{BASE_URL}/Task", json={"resourceType": "Task"})
    assert response.status_code == 200
    assert ehr.resource_calls == ["Bearer token-1", "Bearer token-2"]


async def test_a_second_401_is_returned_not_retried_again() -> None:
    ehr, _, client, _ = rig()
    ehr.resource_statuses = [401, 401, 401]
    response = await client.get(f"{BASE_URL}/Task/1")
    assert response.status_code == 401
    assert len(ehr.resource_calls) == 2
    assert len(ehr.assertions) == 2


async def test_refused_key_is_a_transient_token_refused() -> None:
    ehr, _, client, _ = rig()
    ehr.token_status = 401
    with pytest.raises(TokenRefused) as caught:
        await client.get(f"{BASE_URL}/Task/1")
    assert isinstance(caught.value, TransientDeliveryError)
    assert caught.value.oauth_error == "invalid_client"
    assert ehr.resource_calls == []


async def test_unreachable_token_endpoint_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    key = ECKey.generate_key("P-384").as_pem(private=True)
    credentials = SmartBackendCredentials("gateway", key, "k", "ES384", "system/Task.r", TOKEN_URL)
    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    auth = SmartBackendAuth(credentials, base_url=BASE_URL, http=http)
    with pytest.raises(TransientDeliveryError):
        await auth.access_token()


async def test_token_endpoint_redirect_is_permanent() -> None:
    ehr, _, client, _ = rig()
    ehr.token_status = 302
    with pytest.raises(PermanentDeliveryError):
        await client.get(f"{BASE_URL}/Task/1")


def test_key_must_fit_the_algorithm() -> None:
    p256 = ECKey.generate_key("P-256").as_pem(private=True)
    credentials = SmartBackendCredentials("gateway", p256, "k", "ES384", "system/Task.r")
    with pytest.raises(ValueError, match="P-384"):
        SmartBackendAuth(credentials, base_url=BASE_URL, http=httpx.AsyncClient())


def test_sync_clients_are_refused() -> None:
    _, _, _, auth = rig()
    with pytest.raises(RuntimeError, match="AsyncClient"), httpx.Client(auth=auth) as client:
        client.get(f"{BASE_URL}/Task/1")


@pytest.mark.parametrize(
    "pem",
    [b"not a key", ECKey.generate_key("P-384").as_pem(private=False)],
    ids=["garbage", "public-key"],
)
def test_signing_key_must_be_a_private_pem_key(pem: bytes) -> None:
    credentials = SmartBackendCredentials("gateway", pem, "k", "ES384", "system/Task.r")
    with pytest.raises(ValueError, match="key"):
        SmartBackendAuth(credentials, base_url=BASE_URL, http=httpx.AsyncClient())


async def test_token_response_without_access_token_is_transient() -> None:
    ehr, _, client, _ = rig()
    ehr.token_body = {"token_type": "bearer", "expires_in": 300}
    with pytest.raises(TransientDeliveryError, match="bearer access token"):
        await client.get(f"{BASE_URL}/Task/1")


async def test_discovery_without_token_endpoint_is_transient() -> None:
    ehr, _, client, _ = rig(token_url=None)
    ehr.discovery_body = {"capabilities": ["client-confidential-asymmetric"]}
    with pytest.raises(TransientDeliveryError, match="token_endpoint"):
        await client.get(f"{BASE_URL}/Task/1")
