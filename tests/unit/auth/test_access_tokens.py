"""Gateway-issued access tokens and tokens of external issuers."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from smart_auth_support import NOW, PUBLIC_URL, ec_key, public_jwks, rsa_key, unsigned

from gateway.auth.access_tokens import (
    AccessTokenRejected,
    AccessTokenVerifier,
    GatewaySigningKey,
    Principal,
    TrustedIssuer,
    issue_access_token,
)
from gateway.auth.client_keys import JwksCache
from gateway.auth.scopes import ScopeSet

GATEWAY_KEY = GatewaySigningKey(ec_key("gw-1"))
IDP = "https://idp.example.org"
IDP_JWKS = "https://idp.example.org/jwks"
IDP_KEY = rsa_key("idp-1")


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def gateway_token(**overrides: Any) -> str:
    issued = issue_access_token(
        GATEWAY_KEY,
        issuer=PUBLIC_URL,
        client_id="app-a",
        scopes=ScopeSet.parse("system/ServiceRequest.c system/*.rs"),
        now=NOW,
        token_id="tok-1",
        **overrides,
    )
    return issued.access_token


def idp_token(claims: dict[str, Any], *, alg: str = "RS256", key: RSAKey = IDP_KEY) -> str:
    base = {"iss": IDP, "aud": PUBLIC_URL, "exp": int(NOW.timestamp()) + 120, "client_id": "ext"}
    base.update(claims)
    present = {name: value for name, value in base.items() if value is not None}
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "at+jwt"}, present, key, algorithms=[alg])


def verifier(clock: Clock | None = None) -> AccessTokenVerifier:
    def serve(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == IDP_JWKS
        return httpx.Response(200, json=public_jwks(IDP_KEY))

    cache = JwksCache(httpx.AsyncClient(transport=httpx.MockTransport(serve)), clock=lambda: NOW)
    return AccessTokenVerifier(
        [
            TrustedIssuer.gateway(GATEWAY_KEY, PUBLIC_URL),
            TrustedIssuer(issuer=IDP, audience=PUBLIC_URL, jwks_uri=IDP_JWKS),
        ],
        clock=clock or Clock(),
        jwks_cache=cache,
    )


async def rejection(token: str, clock: Clock | None = None) -> str:
    with pytest.raises(AccessTokenRejected) as caught:
        await verifier(clock).verify(token)
    return caught.value.reason


async def test_gateway_token_verifies_to_its_principal() -> None:
    principal = await verifier().verify(gateway_token())
    assert principal == Principal(
        client_id="app-a",
        issuer=PUBLIC_URL,
        scopes=ScopeSet.parse("system/ServiceRequest.c system/*.rs"),
        token_id="tok-1",
    )
    assert principal.is_operator


def test_gateway_token_claims_and_lifetime_cap() -> None:
    issued = issue_access_token(
        GATEWAY_KEY,
        issuer=PUBLIC_URL,
        client_id="app-a",
        scopes=ScopeSet.parse("system/Task.rs"),
        now=NOW,
        token_id="tok-9",
        lifetime=timedelta(hours=1),
    )
    token = jwt.decode(issued.access_token, GATEWAY_KEY_PUBLIC, algorithms=["ES384"])
    assert issued.expires_in == 300
    assert token.header == {"alg": "ES384", "kid": "gw-1", "typ": "at+jwt"}
    assert token.claims == {
        "iss": PUBLIC_URL,
        "sub": "app-a",
        "client_id": "app-a",
        "aud": PUBLIC_URL,
        "scope": "system/Task.rs",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 300,
        "jti": "tok-9",
    }


GATEWAY_KEY_PUBLIC = ECKey.import_key(GATEWAY_KEY.public_jwks()["keys"][0])


async def test_expired_token_is_rejected() -> None:
    assert await rejection(gateway_token(), Clock(NOW + timedelta(seconds=331))) == "expired"


async def test_token_for_another_audience_is_rejected() -> None:
    token = idp_token({"aud": "https://other.example.org"})
    assert await rejection(token) == "aud_invalid"


async def test_token_from_an_unknown_issuer_is_rejected() -> None:
    assert await rejection(idp_token({"iss": "https://evil.example"})) == "issuer_unknown"


async def test_token_claiming_the_gateway_but_signed_by_another_key_is_rejected() -> None:
    impostor = ec_key("gw-1")
    claims = {"iss": PUBLIC_URL, "aud": PUBLIC_URL, "exp": int(NOW.timestamp()) + 60, "sub": "x"}
    token = jwt.encode({"alg": "ES384", "kid": "gw-1"}, claims, impostor, algorithms=["ES384"])
    assert await rejection(token) == "signature_invalid"


async def test_token_with_alg_none_is_rejected() -> None:
    claims = {"iss": PUBLIC_URL, "aud": PUBLIC_URL, "exp": int(NOW.timestamp()) + 60, "sub": "x"}
    assert await rejection(unsigned({"alg": "none"}, claims)) == "alg_not_allowed"


async def test_garbage_is_rejected_as_malformed() -> None:
    assert await rejection("abc.def") == "malformed"


async def test_external_issuer_token_with_space_separated_scope() -> None:
    principal = await verifier().verify(idp_token({"scope": "system/Task.rs openid"}))
    assert principal.client_id == f"{IDP}#ext"  # never mistaken for a local client "ext"
    assert principal.issuer == IDP
    assert str(principal.scopes) == "system/Task.rs"
    assert not principal.is_operator


async def test_external_issuer_token_with_scp_list_and_sub_only() -> None:
    claims = {"scp": ["system/ServiceRequest.c", "system/Task.read"], "client_id": None}
    principal = await verifier().verify(idp_token({**claims, "sub": "ext-sub"}))
    assert principal.client_id == f"{IDP}#ext-sub"
    assert str(principal.scopes) == "system/ServiceRequest.c system/Task.rs"


async def test_external_token_with_symmetric_alg_is_rejected() -> None:
    header = {"alg": "HS256", "kid": "idp-1"}
    claims = {"iss": IDP, "aud": PUBLIC_URL, "exp": int(NOW.timestamp()) + 60}
    assert await rejection(unsigned(header, claims, b"x" * 32)) == "alg_not_allowed"


async def test_external_token_without_exp_is_rejected() -> None:
    assert await rejection(idp_token({"exp": None})) == "exp_missing"


async def test_gateway_refuses_its_own_algorithm_switched() -> None:
    token = idp_token({"iss": PUBLIC_URL, "sub": "x"}, alg="RS384")
    assert await rejection(token) == "alg_not_allowed"


def test_signing_key_from_pem_file_picks_alg_by_key_type(tmp_path: Path) -> None:
    rsa_pem = tmp_path / "gateway-rsa.pem"
    rsa_pem.write_bytes(RSAKey.generate_key(2048).as_pem(private=True))
    loaded = GatewaySigningKey.from_pem_file(rsa_pem, kid="gw-rsa")
    assert (loaded.alg, loaded.kid) == ("RS384", "gw-rsa")
    jwks = loaded.public_jwks()
    assert jwks["keys"][0]["kid"] == "gw-rsa"
    assert jwks["keys"][0]["alg"] == "RS384"
    assert "d" not in jwks["keys"][0]


def test_signing_key_must_be_private_and_p384() -> None:
    with pytest.raises(ValueError, match="private"):
        GatewaySigningKey(ECKey.import_key(public_jwks(ec_key())["keys"][0]))
    with pytest.raises(ValueError, match="P-384"):
        GatewaySigningKey(ec_key(curve="P-256"))


def test_ephemeral_key_has_a_thumbprint_kid() -> None:
    key = GatewaySigningKey.generate_ephemeral("ES384")
    assert key.alg == "ES384"
    assert key.kid


async def test_token_without_client_id_or_sub_is_rejected() -> None:
    assert await rejection(idp_token({"client_id": None})) == "client_id_missing"


async def test_token_with_a_foreign_typ_is_rejected() -> None:
    claims = {"iss": IDP, "aud": PUBLIC_URL, "exp": int(NOW.timestamp()) + 60, "sub": "x"}
    token = jwt.encode({"alg": "RS256", "kid": "idp-1", "typ": "dpop+jwt"}, claims, IDP_KEY)
    assert await rejection(token) == "typ_invalid"


async def test_token_with_a_non_string_kid_is_rejected() -> None:
    claims = {"iss": IDP, "aud": PUBLIC_URL, "exp": int(NOW.timestamp()) + 60}
    assert await rejection(unsigned({"alg": "RS256", "kid": 7}, claims, b"x")) == "kid_invalid"


async def test_token_with_a_kid_the_issuer_does_not_publish_is_rejected() -> None:
    assert await rejection(idp_token({}, key=rsa_key("idp-2"))) == "kid_unknown"


async def test_token_not_yet_valid_is_rejected() -> None:
    assert await rejection(idp_token({"nbf": int(NOW.timestamp()) + 600})) == "not_yet_valid"


async def test_unreachable_issuer_jwks_rejects_the_token() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(500)))
    external = TrustedIssuer(issuer=IDP, audience=PUBLIC_URL, jwks_uri=IDP_JWKS)
    broken = AccessTokenVerifier(
        [external], clock=Clock(), jwks_cache=JwksCache(http, clock=lambda: NOW)
    )
    with pytest.raises(AccessTokenRejected) as caught:
        await broken.verify(idp_token({}))
    assert caught.value.reason == "keys_unavailable"


def test_issuer_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="jwks or jwks_uri"):
        AccessTokenVerifier([TrustedIssuer(IDP, PUBLIC_URL)], clock=Clock())
    with pytest.raises(ValueError, match="jwks_cache"):
        AccessTokenVerifier([TrustedIssuer(IDP, PUBLIC_URL, jwks_uri=IDP_JWKS)], clock=Clock())


def test_signing_key_pem_that_is_not_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="PEM"):
        GatewaySigningKey.from_pem(b"-----BEGIN NOTHING-----")


async def test_a_verified_token_is_remembered_only_until_it_expires() -> None:
    clock = Clock()
    checker = verifier(clock)
    token = gateway_token()
    first = await checker.verify(token)
    assert await checker.verify(token) is first  # served from the cache
    clock.now = NOW + timedelta(seconds=331)
    with pytest.raises(AccessTokenRejected):
        await checker.verify(token)


async def test_a_tampered_token_is_not_served_from_the_cache() -> None:
    checker = verifier()
    token = gateway_token()
    await checker.verify(token)
    header, payload, signature = token.split(".")
    with pytest.raises(AccessTokenRejected):
        await checker.verify(f"{header}.{payload}.{signature[:-4]}AAAA")
