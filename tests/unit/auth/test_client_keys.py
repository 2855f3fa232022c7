"""JWK Set fetching: Cache-Control honoured, rotation by unknown kid, refetch throttled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from smart_auth_support import (
    CLIENT_ID,
    JWKS_URI,
    NOW,
    TOKEN_URL,
    FakeClientRegistry,
    FakeJtiStore,
    assertion_claims,
    ec_key,
    public_jwks,
    rsa_key,
    sign,
)

from gateway.auth.client_assertion import ClientAssertionValidator
from gateway.auth.client_keys import (
    ClientKeyResolver,
    JwksCache,
    KeysUnavailable,
    cache_lifetime,
    key_ids,
    parse_key_set,
)
from gateway.auth.ports import RegisteredClient

OLD = ec_key("old")
NEW = ec_key("new")


class JwksServer:
    """Serves a mutable JWK Set with a mutable Cache-Control and counts fetches."""

    def __init__(self, jwks: dict[str, Any], cache_control: str | None = "max-age=600") -> None:
        self.jwks = jwks
        self.cache_control = cache_control
        self.fetches = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        headers = {"Cache-Control": self.cache_control} if self.cache_control else {}
        return httpx.Response(200, json=self.jwks, headers=headers)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize(
    ("header", "expected_seconds"),
    [
        ("max-age=60", 60),
        ("public, max-age=30", 30),
        ('max-age="45"', 45),
        ("no-store", 0),
        ("no-cache, max-age=60", 0),
        ("max-age=60, no-store", 0),
        ("max-age=9999999", 86400),
        (None, 5),
        ("public", 5),
    ],
)
def test_cache_lifetime(header: str | None, expected_seconds: int) -> None:
    lifetime = cache_lifetime(header, default=timedelta(seconds=5), ceiling=timedelta(hours=24))
    assert lifetime == timedelta(seconds=expected_seconds)


async def test_jwks_is_reused_within_max_age_and_refetched_after() -> None:
    server, clock = JwksServer(public_jwks(OLD), "max-age=60"), Clock()
    cache = JwksCache(server.client(), clock=clock)
    await cache.get(JWKS_URI)
    clock.now += timedelta(seconds=59)
    await cache.get(JWKS_URI)
    assert server.fetches == 1
    clock.now += timedelta(seconds=2)
    await cache.get(JWKS_URI)
    assert server.fetches == 2


@pytest.mark.parametrize("cache_control", ["no-store", "no-cache", None])
async def test_jwks_not_allowed_to_be_cached_is_fetched_every_time(
    cache_control: str | None,
) -> None:
    server = JwksServer(public_jwks(OLD), cache_control)
    cache = JwksCache(server.client(), clock=Clock())
    await cache.get(JWKS_URI)
    await cache.get(JWKS_URI)
    assert server.fetches == 2


async def test_unknown_kid_triggers_refetch_so_keys_rotate() -> None:
    server, clock = JwksServer(public_jwks(OLD)), Clock()
    cache = JwksCache(server.client(), clock=clock, min_refetch_interval=timedelta(seconds=30))
    assert key_ids(await cache.get(JWKS_URI, kid="old")) == {"old"}
    server.jwks = public_jwks(NEW)
    clock.now += timedelta(seconds=31)
    assert key_ids(await cache.get(JWKS_URI, kid="new")) == {"new"}
    assert server.fetches == 2


async def test_unknown_kid_refetches_are_throttled() -> None:
    server, clock = JwksServer(public_jwks(OLD)), Clock()
    cache = JwksCache(server.client(), clock=clock, min_refetch_interval=timedelta(seconds=30))
    await cache.get(JWKS_URI)
    for _ in range(5):
        clock.now += timedelta(seconds=1)
        await cache.get(JWKS_URI, kid="bogus")
    assert server.fetches == 1


async def test_assertion_signed_by_rotated_key_is_accepted_without_restart() -> None:
    server, clock = JwksServer(public_jwks(OLD)), Clock()
    cache = JwksCache(server.client(), clock=clock)
    validator = ClientAssertionValidator(
        token_url=TOKEN_URL,
        clients=FakeClientRegistry(RegisteredClient(CLIENT_ID, jwks_uri=JWKS_URI)),
        jti_store=FakeJtiStore(),
        keys=ClientKeyResolver(cache),
    )
    await validator.authenticate(sign(OLD, assertion_claims(jti="a"), alg="ES384"), now=NOW)
    server.jwks = public_jwks(NEW)
    clock.now += timedelta(seconds=60)
    later = clock.now
    token = sign(NEW, assertion_claims(jti="b", exp=int(later.timestamp()) + 60), alg="ES384")
    assert (await validator.authenticate(token, now=later)).assertion_id == "b"


def failing_jwks(handler: Callable[[httpx.Request], httpx.Response]) -> JwksCache:
    return JwksCache(httpx.AsyncClient(transport=httpx.MockTransport(handler)), clock=Clock())


async def test_jwks_error_status_is_unavailable() -> None:
    cache = failing_jwks(lambda _: httpx.Response(404, json={"keys": []}))
    with pytest.raises(KeysUnavailable, match="HTTP 404"):
        await cache.get(JWKS_URI)


async def test_jwks_that_is_not_json_is_unavailable() -> None:
    with pytest.raises(KeysUnavailable, match="not JSON"):
        await failing_jwks(lambda _: httpx.Response(200, text="<")).get(JWKS_URI)


async def test_oversized_jwks_is_unavailable() -> None:
    padding = {"keys": [], "padding": "x" * 300_000}
    with pytest.raises(KeysUnavailable, match="too large"):
        await failing_jwks(lambda _: httpx.Response(200, json=padding)).get(JWKS_URI)


async def test_unreachable_jwks_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(KeysUnavailable, match="ConnectError"):
        await failing_jwks(refuse).get(JWKS_URI)


def test_jwks_with_an_unreadable_key_is_unavailable() -> None:
    with pytest.raises(KeysUnavailable, match="unreadable"):
        parse_key_set({"keys": [{"kty": "EC", "crv": "P-384", "x": "AA"}]})


def test_private_and_symmetric_keys_in_a_jwks_are_ignored() -> None:
    private = dict(rsa_key("private").as_dict(private=True))
    document = {"keys": [private, {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"}]}
    document["keys"].extend(public_jwks(OLD)["keys"])
    assert key_ids(parse_key_set(document)) == {"old"}


def test_document_without_keys_is_refused() -> None:
    with pytest.raises(KeysUnavailable):
        parse_key_set({"nope": []})


async def test_client_without_any_keys_has_none() -> None:
    resolver = ClientKeyResolver(JwksCache(httpx.AsyncClient(), clock=Clock()))
    with pytest.raises(KeysUnavailable):
        await resolver.keys_for(RegisteredClient(CLIENT_ID))
