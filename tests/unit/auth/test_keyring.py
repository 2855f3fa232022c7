"""Signing keys that rotate: published beside the old one, old tokens valid until expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.auth.access_tokens import GatewaySigningKey
from gateway.auth.keyring import (
    PUBLISH_AFTER_RETIREMENT,
    Keyring,
    KeyStore,
    Purpose,
    StoredKey,
    rotate,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class MemoryKeyStore(KeyStore):
    """A fake of the port, kept as the database one keeps it."""

    def __init__(self, clock: Clock) -> None:
        self.rows: list[StoredKey] = []
        self.clock = clock

    async def keys(self, purpose: Purpose) -> list[StoredKey]:
        now = self.clock()
        found = [k for k in self.rows if k.purpose == purpose and k.published(now)]
        return sorted(found, key=lambda k: k.created_at, reverse=True)

    async def add_first(self, key: StoredKey) -> None:
        if not any(k.purpose == key.purpose and k.retired_at is None for k in self.rows):
            self.rows.append(key)

    async def rotate(self, key: StoredKey, *, now: datetime, unpublish_at: datetime) -> None:
        self.rows = [
            StoredKey(
                **{
                    **k.__dict__,
                    "retired_at": now,
                    "unpublish_at": unpublish_at,
                    "private_pem": None,
                }
            )
            if k.purpose == key.purpose and k.retired_at is None
            else k
            for k in self.rows
        ]
        self.rows.append(key)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_the_seed_is_the_first_key_and_later_seeds_do_not_replace_it(clock: Clock) -> None:
    store = MemoryKeyStore(clock)
    first = GatewaySigningKey.generate(kid="first")
    ring = Keyring(store, "access-tokens", clock)
    await ring.load(first)
    await Keyring(store, "access-tokens", clock).load(GatewaySigningKey.generate(kid="other"))
    assert (await ring.signer()).kid == "first"
    assert [k["kid"] for k in ring.public_jwks()["keys"]] == ["first"]
    assert "d" not in ring.public_jwks()["keys"][0]


async def test_after_a_rotation_both_are_published_until_the_old_ones_tokens_expired(
    clock: Clock,
) -> None:
    store = MemoryKeyStore(clock)
    ring = Keyring(store, "access-tokens", clock, refresh_seconds=5)
    await ring.load(GatewaySigningKey.generate(kid="old"))
    clock.now += timedelta(seconds=10)
    new = await rotate(store, "access-tokens", now=clock.now, kid="new")
    assert new.alg == "ES384"
    # Another process learns of it within the refresh interval.
    clock.now += timedelta(seconds=5)
    assert (await ring.signer()).kid == "new"
    assert {k["kid"] for k in ring.public_jwks()["keys"]} == {"old", "new"}
    retired = next(k for k in store.rows if k.kid == "old")
    assert retired.private_pem is None  # a retired key never signs again
    assert retired.unpublish_at == clock.now - timedelta(seconds=5) + PUBLISH_AFTER_RETIREMENT
    assert timedelta(seconds=300) <= PUBLISH_AFTER_RETIREMENT  # the longest token lifetime
    clock.now = retired.unpublish_at - timedelta(seconds=1)
    await ring.refresh()
    assert {k["kid"] for k in ring.public_jwks()["keys"]} == {"old", "new"}
    clock.now = retired.unpublish_at
    await ring.refresh()
    assert [k["kid"] for k in ring.public_jwks()["keys"]] == ["new"]


async def test_an_unknown_kid_makes_the_keyring_look_again_before_refusing(clock: Clock) -> None:
    store = MemoryKeyStore(clock)
    ring = Keyring(store, "access-tokens", clock, refresh_seconds=3600)
    await ring.load(GatewaySigningKey.generate(kid="old"))
    await rotate(store, "access-tokens", now=clock.now, kid="new")
    clock.now += timedelta(seconds=2)
    keys = await ring.verification_keys("new")
    assert {key.kid for key in keys.keys} == {"old", "new"}


async def test_rotation_keeps_the_algorithm_and_purposes_are_apart(clock: Clock) -> None:
    store = MemoryKeyStore(clock)
    await Keyring(store, "access-tokens", clock).load(GatewaySigningKey.generate("RS384", kid="r"))
    ehr = Keyring(store, "ehr-client", clock)
    await ehr.load(GatewaySigningKey.generate(kid="e"))
    rotated = await rotate(store, "access-tokens", now=clock.now, kid="r2")
    assert rotated.alg == "RS384"
    await ehr.refresh()
    assert (await ehr.signer()).kid == "e"
    assert [k["kid"] for k in ehr.public_jwks()["keys"]] == ["e"]
