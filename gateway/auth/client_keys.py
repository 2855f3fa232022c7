"""Where a client's (or an issuer's) public keys come from.

SMART App Launch 2.x, client-confidential-asymmetric.md §"Signature Verification":
keys are registered inline or at a JWKS URL; a JWK Set fetched from a URL is not
cached beyond what its ``Cache-Control`` allows; an unknown ``kid`` triggers a
refetch so keys rotate without restart (throttled so a flood of bogus ``kid`` values
cannot turn into a flood of fetches). Which addresses may be fetched is the injected
HTTP client's concern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway.auth.ports import RegisteredClient

MAX_JWKS_BYTES = 256 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NOT_STORABLE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:[,=]|$)", re.IGNORECASE)


class KeysUnavailable(Exception):
    """The JWK Set could not be fetched or parsed."""


def cache_lifetime(
    cache_control: str | None, *, default: timedelta, ceiling: timedelta
) -> timedelta:
    """How long a response may be reused under its ``Cache-Control`` (RFC 9111 §5.2.2)."""
    if cache_control is None:
        return min(default, ceiling)
    if _NOT_STORABLE.search(cache_control):
        return timedelta(0)
    match = _MAX_AGE.search(cache_control)
    if match is None:
        return min(default, ceiling)
    return min(timedelta(seconds=int(match[1])), ceiling)


def parse_key_set(document: Any) -> KeySet:
    """A JWK Set of public keys; private or symmetric material is refused."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeysUnavailable("not a JWK Set")
    public_keys = []
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC") or "d" in entry:
            continue
        public_keys.append(entry)
    try:
        return KeySet.import_key_set({"keys": public_keys})
    except (JoseError, ValueError, TypeError) as error:
        raise KeysUnavailable("JWK Set has an unreadable key") from error


def key_ids(keys: KeySet) -> set[str]:
    return {key.kid for key in keys if key.kid is not None}


@dataclass
class _Entry:
    keys: KeySet
    fetched_at: datetime
    fresh_until: datetime


class JwksCache:
    """Fetches JWK Sets by URL and keeps each no longer than its ``Cache-Control`` allows."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime],
        default_max_age: timedelta = timedelta(0),
        max_age_ceiling: timedelta = timedelta(hours=24),
        min_refetch_interval: timedelta = timedelta(seconds=30),
    ) -> None:
        self._http = http
        self._clock = clock
        self._default_max_age = default_max_age
        self._ceiling = max_age_ceiling
        self._min_refetch_interval = min_refetch_interval
        self._entries: dict[str, _Entry] = {}

    async def get(self, jwks_uri: str, *, kid: str | None = None) -> KeySet:
        """The key set at ``jwks_uri``; refetched early (throttled) if ``kid`` is not in it."""
        now = self._clock()
        entry = self._entries.get(jwks_uri)
        if entry is not None and now < entry.fresh_until:
            kid_known = kid is None or kid in key_ids(entry.keys)
            throttled = now - entry.fetched_at < self._min_refetch_interval
            if kid_known or throttled:
                return entry.keys
        return await self._fetch(jwks_uri, now)

    async def _fetch(self, jwks_uri: str, now: datetime) -> KeySet:
        try:
            response = await self._http.get(jwks_uri, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise KeysUnavailable(f"fetching JWKS failed: {type(error).__name__}") from error
        if response.status_code != 200:
            raise KeysUnavailable(f"JWKS answered HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise KeysUnavailable("JWKS too large")
        try:
            keys = parse_key_set(response.json())
        except ValueError as error:
            raise KeysUnavailable("JWKS is not JSON") from error
        lifetime = cache_lifetime(
            response.headers.get("Cache-Control"),
            default=self._default_max_age,
            ceiling=self._ceiling,
        )
        if lifetime > timedelta(0):
            self._entries[jwks_uri] = _Entry(keys, now, now + lifetime)
        else:
            self._entries.pop(jwks_uri, None)
        return keys


class ClientKeyResolver:
    """A registered client's public keys: its inline JWKS, else its ``jwks_uri``."""

    def __init__(self, jwks_cache: JwksCache) -> None:
        self._jwks_cache = jwks_cache

    async def keys_for(self, client: RegisteredClient, *, kid: str | None = None) -> KeySet:
        if client.jwks is not None:
            return parse_key_set(client.jwks)
        if client.jwks_uri is not None:
            return await self._jwks_cache.get(client.jwks_uri, kid=kid)
        raise KeysUnavailable("client has no registered keys")
