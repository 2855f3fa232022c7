"""The token endpoint, discovery and JWKS over HTTP (RFC 6749 §5.2 codes, SMART discovery)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from smart_auth_support import (
    CLIENT_ID,
    NOW,
    PUBLIC_URL,
    TOKEN_URL,
    FakeAuditSink,
    FakeClientRegistry,
    FakeJtiStore,
    assertion_claims,
    ec_key,
    public_jwks,
    sign,
)

from gateway.auth.access_tokens import AccessTokenVerifier, GatewaySigningKey, TrustedIssuer
from gateway.auth.client_keys import ClientKeyResolver, JwksCache
from gateway.auth.ports import RegisteredClient
from gateway.auth.router import build_auth_router
from gateway.auth.token_endpoint import ASSERTION_TYPE, TokenService

APP_KEY = ec_key("app-1")
GATEWAY_KEY = GatewaySigningKey.generate_ephemeral("ES384")
ALLOWED = ["system/ServiceRequest.cr", "system/Task.read", "system/Bogus.r"]


class Rig:
    def __init__(self) -> None:
        self.audit = FakeAuditSink()
        ids = iter(f"tok-{n}" for n in range(100))
        self.service = TokenService(
            public_url=PUBLIC_URL,
            token_url=TOKEN_URL,
            clients=FakeClientRegistry(
                RegisteredClient(CLIENT_ID, jwks=public_jwks(APP_KEY), scopes=ALLOWED)
            ),
            jti_store=FakeJtiStore(),
            key_resolver=ClientKeyResolver(JwksCache(httpx.AsyncClient(), clock=lambda: NOW)),
            signing_key=GATEWAY_KEY,
            audit=self.audit,
            clock=lambda: NOW,
            new_token_id=lambda: next(ids),
            scopes_supported=["system/ServiceRequest.c", "system/ServiceRequest.r"],
        )
        app = FastAPI()
        app.include_router(build_auth_router(self.service))
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=PUBLIC_URL)

    async def token(self, **form: str | None) -> httpx.Response:
        fields: dict[str, Any] = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": sign(APP_KEY, assertion_claims(), alg="ES384"),
            "scope": "system/ServiceRequest.c",
        }
        fields.update(form)
        return await self.http.post(
            "/auth/token", data={name: value for name, value in fields.items() if value is not None}
        )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    rig = Rig()
    yield rig
    await rig.http.aclose()


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_smart_configuration_lists_what_smart_requires(rig: Rig) -> None:
    config = (await rig.http.get("/.well-known/smart-configuration")).json()
    assert config == {
        "issuer": PUBLIC_URL,
        "jwks_uri": f"{PUBLIC_URL}/auth/jwks",
        "token_endpoint": TOKEN_URL,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": ["system/ServiceRequest.c", "system/ServiceRequest.r"],
        "response_types_supported": [],
        "capabilities": ["client-confidential-asymmetric", "permission-v2"],
    }


async def test_jwks_publishes_the_public_signing_key(rig: Rig) -> None:
    keys = (await rig.http.get("/auth/jwks")).json()["keys"]
    assert [key["kid"] for key in keys] == [GATEWAY_KEY.kid]
    assert "d" not in keys[0]


async def test_token_issued_for_a_valid_assertion(rig: Rig) -> None:
    response = await rig.token()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] <= 300
    assert body["scope"] == "system/ServiceRequest.c"
    verifier = AccessTokenVerifier(
        [TrustedIssuer.gateway(GATEWAY_KEY, PUBLIC_URL)], clock=lambda: NOW
    )
    principal = await verifier.verify(body["access_token"])
    assert (principal.client_id, principal.token_id) == (CLIENT_ID, "tok-0")
    [event] = rig.audit.events
    assert (event.action, event.client_id, event.token_id) == ("token.issued", CLIENT_ID, "tok-0")
    assert (event.scope, event.expires_in) == ("system/ServiceRequest.c", 300)
    assert body["access_token"] not in repr(event)


async def test_token_carries_the_requested_subset_in_v2_form(rig: Rig) -> None:
    response = await rig.token(scope="system/Task.read system/ServiceRequest.r")
    assert response.json()["scope"] == "system/Task.rs system/ServiceRequest.r"


async def test_non_form_body_is_invalid_request(rig: Rig) -> None:
    response = await rig.http.post("/auth/token", json={"grant_type": "client_credentials"})
    assert_oauth_error(response, 400, "invalid_request")
    [event] = rig.audit.events
    assert (event.action, event.reason) == ("token.refused", "not_form")


async def test_oversized_form_is_invalid_request(rig: Rig) -> None:
    response = await rig.token(scope="system/Task.r " * 6000)
    assert_oauth_error(response, 400, "invalid_request")
    assert rig.audit.events[0].reason == "body_too_large"


async def test_unparseable_form_is_invalid_request(rig: Rig) -> None:
    response = await rig.http.post(
        "/auth/token",
        content=b"grant_type",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(response, 400, "invalid_request")
    assert rig.audit.events[0].reason == "form_unreadable"


@pytest.mark.parametrize("missing", ["grant_type", "client_assertion_type", "client_assertion"])
async def test_missing_parameter_is_invalid_request(rig: Rig, missing: str) -> None:
    assert_oauth_error(await rig.token(**{missing: None}), 400, "invalid_request")
    assert rig.audit.events[0].reason == "parameter_missing"


async def test_missing_scope_is_invalid_request(rig: Rig) -> None:
    assert_oauth_error(await rig.token(scope=None), 400, "invalid_request")


async def test_repeated_parameter_is_invalid_request(rig: Rig) -> None:
    body = "grant_type=client_credentials&grant_type=client_credentials"
    response = await rig.http.post(
        "/auth/token",
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(response, 400, "invalid_request")
    assert rig.audit.events[0].reason == "parameter_repeated"


async def test_wrong_grant_type_is_unsupported_grant_type(rig: Rig) -> None:
    assert_oauth_error(await rig.token(grant_type="password"), 400, "unsupported_grant_type")


async def test_wrong_assertion_type_is_invalid_client(rig: Rig) -> None:
    saml = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    response = await rig.token(client_assertion_type=saml)
    assert_oauth_error(response, 401, "invalid_client")
    assert rig.audit.events[0].reason == "assertion_type_unsupported"


async def test_failed_authentication_is_a_generic_401_and_audited_with_reason(rig: Rig) -> None:
    stranger = ec_key("app-1")
    assertion = sign(stranger, assertion_claims(), alg="ES384")
    response = await rig.token(client_assertion=assertion)
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error_description"] == "client authentication failed"
    [event] = rig.audit.events
    assert (event.action, event.client_id, event.error, event.reason) == (
        "token.refused",
        CLIENT_ID,
        "invalid_client",
        "signature_invalid",
    )
    assert assertion not in repr(event)


async def test_malformed_scope_is_invalid_scope(rig: Rig) -> None:
    assert_oauth_error(await rig.token(scope="system/ServiceRequest.rc"), 400, "invalid_scope")


async def test_scope_not_granted_to_the_client_is_invalid_scope(rig: Rig) -> None:
    response = await rig.token(scope="system/ServiceRequest.c system/Patient.d")
    assert_oauth_error(response, 400, "invalid_scope")
    [event] = rig.audit.events
    assert event.reason == "scope_not_granted:system/Patient.d"
    assert event.scope == "system/ServiceRequest.c system/Patient.d"


async def test_a_malformed_registered_scope_does_not_spoil_the_others(rig: Rig) -> None:
    assert (await rig.token(scope="system/Task.r")).status_code == 200


@pytest.mark.parametrize(
    ("claims", "header", "rule"),
    [
        ({"exp": int(NOW.timestamp()) - 600}, {}, "expired"),
        ({"exp": int(NOW.timestamp()) + 3600}, {}, "5 minutes"),
        ({"aud": "https://elsewhere.example/token"}, {}, "aud"),
        ({"sub": "someone-else"}, {}, "sub"),
        ({}, {"kid": "no-such-key"}, "kid"),
        ({}, {"kid": None}, "kid"),
        ({}, {"jku": "https://attacker.example/jwks"}, "jku"),
    ],
)
async def test_refused_assertion_names_the_rule_it_broke(
    rig: Rig, claims: dict[str, Any], header: dict[str, Any], rule: str
) -> None:
    assertion = sign(APP_KEY, assertion_claims(**claims), alg="ES384", **header)
    response = await rig.token(client_assertion=assertion)
    assert_oauth_error(response, 401, "invalid_client")
    description = response.json()["error_description"]
    assert rule in description
    assert "signature" not in description


async def test_reused_jti_is_named_in_the_description(rig: Rig) -> None:
    assertion = sign(APP_KEY, assertion_claims(jti="once"), alg="ES384")
    assert (await rig.token(client_assertion=assertion)).status_code == 200
    again = await rig.token(client_assertion=assertion)
    assert_oauth_error(again, 401, "invalid_client")
    assert "jti" in again.json()["error_description"]


async def test_discovery_is_also_served_at_the_fhir_base_without_a_token(rig: Rig) -> None:
    at_root = await rig.http.get("/.well-known/smart-configuration")
    at_fhir = await rig.http.get("/fhir/.well-known/smart-configuration")
    assert at_fhir.status_code == 200
    assert at_fhir.json() == at_root.json()
