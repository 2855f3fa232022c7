"""The gateway's signing keys, rotating without a restart (``gateway keys rotate``).

One keyring per purpose: ``access-tokens`` (what ``/auth/token`` signs, published at
``/auth/jwks``) and ``ehr-client`` (the client assertions the gateway sends to EHRs,
published at ``/auth/ehr-client-jwks`` for an EHR that registered that URL). Keys
live in the database, so every process signs with the same key and publishes the
same set (RFC 7517 §5). Rotation makes a new key, signs with it from then on, and
keeps the old one published, and accepted, until every token it signed has expired
(``PUBLISH_AFTER_RETIREMENT``: the longest lifetime plus the verifier's leeway); a
retired key's private half is erased at once. A process learns of a rotation within
``refresh_seconds``, or at once when it meets a ``kid`` it does not know, so a token
signed by a process that already rotated is never refused by one that has not.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from joserfc.jwk import ECKey, KeySet, RSAKey

from gateway.auth.access_tokens import MAX_ACCESS_TOKEN_LIFETIME, GatewaySigningKey
from gateway.auth.client_keys import parse_key_set

Purpose = Literal["access-tokens", "ehr-client"]
PURPOSES: tuple[Purpose, ...] = ("access-tokens", "ehr-client")
VERIFIER_LEEWAY = timedelta(seconds=30)
PUBLISH_AFTER_RETIREMENT = MAX_ACCESS_TOKEN_LIFETIME + VERIFIER_LEEWAY
UNKNOWN_KID_REFRESH = timedelta(seconds=1)


@dataclass(frozen=True)
class StoredKey:
    kid: str
    purpose: Purpose
    alg: str
    private_pem: bytes | None
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None = None
    unpublish_at: datetime | None = None

    def published(self, now: datetime) -> bool:
        return self.unpublish_at is None or now < self.unpublish_at


class KeyStore(ABC):
    """Where the keys are kept; ``gateway.store.signing_keys`` is the database one."""

    @abstractmethod
    async def keys(self, purpose: Purpose) -> list[StoredKey]:
        """Every key of ``purpose`` not yet unpublished, newest first."""

    @abstractmethod
    async def add_first(self, key: StoredKey) -> None:
        """Store ``key`` unless the purpose already has a signing key."""

    @abstractmethod
    async def rotate(self, key: StoredKey, *, now: datetime, unpublish_at: datetime) -> None:
        """Store ``key`` as the signing one; retire the others (erasing their private
        half) and publish them until ``unpublish_at``."""


def stored(key: GatewaySigningKey, purpose: Purpose, now: datetime) -> StoredKey:
    return StoredKey(
        kid=key.kid,
        purpose=purpose,
        alg=key.alg,
        private_pem=key.private_pem(),
        public_jwk=key.public_jwks()["keys"][0],
        created_at=now,
    )


def new_key_like(current: GatewaySigningKey, *, kid: str) -> GatewaySigningKey:
    """A fresh key of the same algorithm as ``current``."""
    fresh: RSAKey | ECKey = (
        RSAKey.generate_key(3072, private=True)
        if current.alg == "RS384"
        else ECKey.generate_key("P-384", private=True)
    )
    return GatewaySigningKey(fresh, kid=kid)


async def rotate(
    store: KeyStore, purpose: Purpose, *, now: datetime, kid: str, alg: str | None = None
) -> StoredKey:
    """Make a new signing key for ``purpose``; the old ones stay published for a while."""
    keys = await store.keys(purpose)
    signing = [k for k in keys if k.retired_at is None and k.private_pem]
    if signing:
        current = GatewaySigningKey.from_pem(signing[0].private_pem or b"")
        fresh = new_key_like(current, kid=kid)
    else:
        fresh = GatewaySigningKey.generate(alg or "ES384", kid=kid)
    key = stored(fresh, purpose, now)
    await store.rotate(key, now=now, unpublish_at=now + PUBLISH_AFTER_RETIREMENT)
    return key


class Keyring:
    """What one process signs with and publishes for one purpose, kept fresh."""

    def __init__(
        self,
        store: KeyStore,
        purpose: Purpose,
        clock: Callable[[], datetime],
        *,
        refresh_seconds: float = 5.0,
    ) -> None:
        self.store = store
        self.purpose = purpose
        self.clock = clock
        self.refresh_every = timedelta(seconds=refresh_seconds)
        self._signer: GatewaySigningKey | None = None
        self._published: list[StoredKey] = []
        self._loaded_at: datetime | None = None
        self._looked_for_unknown_at: datetime | None = None

    async def load(self, seed: GatewaySigningKey | None) -> None:
        """Read the keys, first storing ``seed`` (the configured key file) when the
        purpose has no signing key yet."""
        if seed is not None:
            await self.store.add_first(stored(seed, self.purpose, self.clock()))
        await self.refresh()

    async def refresh(self) -> None:
        keys = await self.store.keys(self.purpose)
        signing = next((k for k in keys if k.retired_at is None and k.private_pem), None)
        if signing is not None and (self._signer is None or self._signer.kid != signing.kid):
            self._signer = GatewaySigningKey.from_pem(signing.private_pem or b"", kid=signing.kid)
        now = self.clock()
        self._published = [k for k in keys if k.published(now)]
        self._loaded_at = now

    async def _fresh(self, at_most: timedelta) -> None:
        if self._loaded_at is None or self.clock() - self._loaded_at >= at_most:
            await self.refresh()

    async def signer(self) -> GatewaySigningKey:
        """The key to sign with now."""
        await self._fresh(self.refresh_every)
        if self._signer is None:
            raise RuntimeError(f"no {self.purpose} signing key: run `gateway keys rotate`")
        return self._signer

    @property
    def has_signer(self) -> bool:
        return self._signer is not None

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set to publish: the signing key and every retired one still valid."""
        now = self.clock()
        return {"keys": [dict(k.public_jwk) for k in self._published if k.published(now)]}

    async def current_jwks(self) -> dict[str, Any]:
        """``public_jwks()`` after a look for rotations made elsewhere (may be empty)."""
        await self._fresh(self.refresh_every)
        return self.public_jwks()

    async def verification_keys(self, kid: str | None) -> KeySet:
        """The published keys; an unknown ``kid`` makes the keyring look again first."""
        await self._fresh(self.refresh_every)
        if kid is not None and kid not in {k.kid for k in self._published}:
            # At most once a second, so a flood of bogus kids is not a flood of reads.
            now = self.clock()
            last = self._looked_for_unknown_at
            if last is None or now - last >= UNKNOWN_KID_REFRESH:
                self._looked_for_unknown_at = now
                await self.refresh()
        return parse_key_set(self.public_jwks())
