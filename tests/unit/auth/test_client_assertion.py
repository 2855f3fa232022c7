"""Each SMART / RFC 7523 §3 assertion check, asserted by its internal reason code."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import httpx
import pytest
from joserfc.jwk import KeySet, RSAKey
from smart_auth_support import (
    CLIENT_ID,
    JWKS_URI,
    NOW,
    TOKEN_URL,
    FakeClientRegistry,
    FakeJtiStore,
    assertion_claims,
    b64url,
    ec_key,
    public_jwks,
    rsa_key,
    sign,
    unsigned,
)

from gateway.auth.client_assertion import AuthenticatedClient, ClientAssertionValidator
from gateway.auth.client_keys import ClientKeyResolver, JwksCache
from gateway.auth.errors import RULES_BROKEN, InvalidClient
from gateway.auth.ports import RegisteredClient

RSA = rsa_key("rsa-1")
EC = ec_key("ec-1")
STRANGER = rsa_key("rsa-1")


def validator(
    client: RegisteredClient | None = None,
    *,
    jti_store: FakeJtiStore | None = None,
    jwks_http: httpx.AsyncClient | None = None,
) -> ClientAssertionValidator:
    registered = client or RegisteredClient(CLIENT_ID, jwks=public_jwks(RSA, EC))
    cache = JwksCache(jwks_http or httpx.AsyncClient(), clock=lambda: NOW)
    return ClientAssertionValidator(
        token_url=TOKEN_URL,
        clients=FakeClientRegistry(registered),
        jti_store=jti_store or FakeJtiStore(),
        keys=ClientKeyResolver(cache),
    )


async def authenticate(token: str, **kwargs: object) -> AuthenticatedClient:
    return await validator(**kwargs).authenticate(token, now=NOW)  # type: ignore[arg-type]


async def refusal(token: str, **kwargs: object) -> str:
    with pytest.raises(InvalidClient) as caught:
        await authenticate(token, **kwargs)
    assert caught.value.error == "invalid_client"
    reason = caught.value.reason
    if reason == "signature_invalid":
        assert caught.value.description == "client authentication failed"
    else:
        assert caught.value.description == f"client authentication failed: {RULES_BROKEN[reason]}"
    return reason


@pytest.mark.parametrize(("key", "alg"), [(RSA, "RS384"), (EC, "ES384")])
async def test_valid_assertion_is_accepted(key: RSAKey, alg: str) -> None:
    result = await authenticate(sign(key, assertion_claims(), alg=alg))
    assert result.client.client_id == CLIENT_ID
    assert result.assertion_id == "jti-1"


async def test_signature_by_another_key_is_refused() -> None:
    assert await refusal(sign(STRANGER, assertion_claims(), alg="RS384")) == "signature_invalid"


async def test_alg_none_is_refused() -> None:
    token = unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, assertion_claims())
    assert await refusal(token) == "alg_not_allowed"


async def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    unsigned_token = unsigned(header, assertion_claims())
    signing_input = unsigned_token.rsplit(".", 1)[0].encode()
    secret = RSA.as_pem(private=False)
    mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
    assert await refusal(f"{signing_input.decode()}.{b64url(mac)}") == "alg_not_allowed"


async def test_alg_outside_rs384_es384_is_refused() -> None:
    assert await refusal(sign(RSA, assertion_claims(), alg="RS256")) == "alg_not_allowed"


@pytest.mark.parametrize("typ", ["at+jwt", None])
async def test_typ_other_than_jwt_is_refused(typ: str | None) -> None:
    assert await refusal(sign(RSA, assertion_claims(), alg="RS384", typ=typ)) == "typ_invalid"


async def test_kid_missing_is_refused() -> None:
    assert await refusal(sign(RSA, assertion_claims(), alg="RS384", kid=None)) == "kid_missing"


async def test_kid_matching_no_key_is_refused() -> None:
    token = sign(RSA, assertion_claims(), alg="RS384", kid="unknown")
    assert await refusal(token) == "kid_unknown"


async def test_kid_matching_two_keys_is_refused() -> None:
    twin = rsa_key("rsa-1")
    client = RegisteredClient(CLIENT_ID, jwks=public_jwks(RSA, twin))
    token = sign(RSA, assertion_claims(), alg="RS384")
    assert await refusal(token, client=client) == "kid_ambiguous"


async def test_kid_of_a_key_whose_kty_does_not_fit_alg_is_refused() -> None:
    token = sign(EC, assertion_claims(), alg="ES384", kid="rsa-1")
    assert await refusal(token) == "kty_mismatch"


async def test_ec_key_on_another_curve_does_not_fit_es384() -> None:
    p256 = ec_key("ec-256", curve="P-256")
    client = RegisteredClient(CLIENT_ID, jwks=public_jwks(p256))
    token = sign(EC, assertion_claims(), alg="ES384", kid="ec-256")
    assert await refusal(token, client=client) == "kty_mismatch"


async def test_iss_differing_from_sub_is_refused() -> None:
    token = sign(RSA, assertion_claims(sub="someone-else"), alg="RS384")
    assert await refusal(token) == "sub_not_iss"


async def test_iss_missing_is_refused() -> None:
    token = sign(RSA, assertion_claims(iss=None, sub=None), alg="RS384")
    assert await refusal(token) == "iss_missing"


async def test_unknown_client_is_refused() -> None:
    token = sign(RSA, assertion_claims(iss="stranger", sub="stranger"), alg="RS384")
    assert await refusal(token) == "client_unknown"


async def test_aud_other_than_token_url_is_refused() -> None:
    token = sign(RSA, assertion_claims(aud="https://elsewhere.example/token"), alg="RS384")
    assert await refusal(token) == "aud_invalid"


async def test_aud_list_containing_token_url_is_accepted() -> None:
    token = sign(RSA, assertion_claims(aud=["https://x.example", TOKEN_URL]), alg="RS384")
    assert (await authenticate(token)).client.client_id == CLIENT_ID


async def test_exp_missing_is_refused() -> None:
    assert await refusal(sign(RSA, assertion_claims(exp=None), alg="RS384")) == "exp_missing"


async def test_exp_not_a_number_is_refused() -> None:
    assert await refusal(sign(RSA, assertion_claims(exp="soon"), alg="RS384")) == "exp_invalid"


async def test_exp_out_of_range_is_refused() -> None:
    assert await refusal(sign(RSA, assertion_claims(exp=10**20), alg="RS384")) == "exp_invalid"


async def test_exp_past_beyond_clock_skew_is_refused() -> None:
    past = int((NOW - timedelta(seconds=61)).timestamp())
    assert await refusal(sign(RSA, assertion_claims(exp=past), alg="RS384")) == "exp_past"


async def test_exp_just_past_within_clock_skew_is_accepted() -> None:
    recent = int((NOW - timedelta(seconds=30)).timestamp())
    assert await authenticate(sign(RSA, assertion_claims(exp=recent), alg="RS384"))


async def test_exp_more_than_five_minutes_ahead_is_refused() -> None:
    far = int((NOW + timedelta(seconds=301)).timestamp())
    assert await refusal(sign(RSA, assertion_claims(exp=far), alg="RS384")) == "exp_too_far"


async def test_exp_exactly_five_minutes_ahead_is_accepted() -> None:
    limit = int((NOW + timedelta(seconds=300)).timestamp())
    assert await authenticate(sign(RSA, assertion_claims(exp=limit), alg="RS384"))


async def test_nbf_in_the_future_is_refused() -> None:
    later = int((NOW + timedelta(seconds=120)).timestamp())
    assert await refusal(sign(RSA, assertion_claims(nbf=later), alg="RS384")) == "nbf_future"


async def test_iat_in_the_future_is_refused() -> None:
    later = int((NOW + timedelta(seconds=120)).timestamp())
    assert await refusal(sign(RSA, assertion_claims(iat=later), alg="RS384")) == "iat_future"


async def test_jti_missing_is_refused() -> None:
    assert await refusal(sign(RSA, assertion_claims(jti=None), alg="RS384")) == "jti_missing"


async def test_jti_replay_is_refused() -> None:
    store = FakeJtiStore()
    token = sign(RSA, assertion_claims(), alg="RS384")
    await authenticate(token, jti_store=store)
    assert await refusal(token, jti_store=store) == "jti_replayed"
    assert store.seen[(CLIENT_ID, "jti-1")] > NOW + timedelta(seconds=240)


async def test_refused_assertion_does_not_burn_its_jti() -> None:
    store = FakeJtiStore()
    wrong_aud = sign(RSA, assertion_claims(aud="https://elsewhere.example"), alg="RS384")
    await refusal(wrong_aud, jti_store=store)
    assert await authenticate(sign(RSA, assertion_claims(), alg="RS384"), jti_store=store)


async def test_malformed_assertion_is_refused() -> None:
    assert await refusal("not-a-jwt") == "malformed"


async def test_jku_when_client_registered_none_is_refused() -> None:
    token = sign(RSA, assertion_claims(), alg="RS384", jku="https://evil.example/jwks")
    assert await refusal(token) == "jku_unregistered"


def jwks_server(keys: KeySet | dict[str, object]) -> httpx.AsyncClient:
    body = keys.as_dict(private=False) if isinstance(keys, KeySet) else keys

    def handler(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URI
        return httpx.Response(200, json=body, headers={"Cache-Control": "max-age=300"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_jku_other_than_registered_jwks_uri_is_refused() -> None:
    client = RegisteredClient(CLIENT_ID, jwks_uri=JWKS_URI)
    token = sign(RSA, assertion_claims(), alg="RS384", jku="https://evil.example/jwks")
    assert await refusal(token, client=client, jwks_http=jwks_server(public_jwks(RSA))) == (
        "jku_unregistered"
    )


async def test_jku_equal_to_registered_jwks_uri_is_accepted() -> None:
    client = RegisteredClient(CLIENT_ID, jwks_uri=JWKS_URI)
    token = sign(RSA, assertion_claims(), alg="RS384", jku=JWKS_URI)
    result = await authenticate(token, client=client, jwks_http=jwks_server(public_jwks(RSA)))
    assert result.client.client_id == CLIENT_ID


async def test_jwks_uri_unreachable_is_an_authentication_failure() -> None:
    client = RegisteredClient(CLIENT_ID, jwks_uri=JWKS_URI)
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    token = sign(RSA, assertion_claims(), alg="RS384")
    assert await refusal(token, client=client, jwks_http=http) == "keys_unavailable"
