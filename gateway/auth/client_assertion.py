"""Validating a SMART Backend Services client assertion.

SMART App Launch 2.x client-confidential-asymmetric.md §"Authenticating to the Token
endpoint" and RFC 7523 §3: header ``alg`` RS384|ES384, ``kid`` required, ``typ`` JWT,
``jku`` only if it is the client's registered JWKS URL; claims ``iss`` = ``sub`` =
``client_id`` of a registered client, ``aud`` = the token URL, ``exp`` present, not
past, at most five minutes ahead, ``jti`` never seen before for that client. Every
failure is one ``InvalidClient`` whose ``reason`` names the check (for the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError

from gateway.auth.client_keys import ClientKeyResolver, KeysUnavailable
from gateway.auth.errors import InvalidClient
from gateway.auth.jose_parts import KeySelectionError, MalformedJws, select_key, unverified_parts
from gateway.auth.ports import ClientRegistry, JtiStore, RegisteredClient

ASSERTION_ALGORITHMS = frozenset({"RS384", "ES384"})
MAX_ASSERTION_LIFETIME = timedelta(seconds=300)
CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class AuthenticatedClient:
    client: RegisteredClient
    assertion_id: str


def claimed_client_id(assertion: str) -> str | None:
    """The unverified ``iss`` of an assertion, for audit records of refusals only."""
    try:
        _, claims = unverified_parts(assertion)
    except MalformedJws:
        return None
    issuer = claims.get("iss")
    return issuer[:200] if isinstance(issuer, str) else None


def _numeric_date(claims: dict[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClient(f"{name}_invalid")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise InvalidClient(f"{name}_invalid") from error


class ClientAssertionValidator:
    """Authenticates a client from its ``client_assertion`` (RFC 7523 §3)."""

    def __init__(
        self,
        *,
        token_url: str,
        clients: ClientRegistry,
        jti_store: JtiStore,
        keys: ClientKeyResolver,
    ) -> None:
        self._token_url = token_url
        self._clients = clients
        self._jti_store = jti_store
        self._keys = keys

    async def authenticate(self, assertion: str, *, now: datetime) -> AuthenticatedClient:
        try:
            header, claims = unverified_parts(assertion)
        except MalformedJws as error:
            raise InvalidClient("malformed") from error
        alg = self._check_header(header)
        client = await self._client_for(claims)
        self._check_jku(header, client)
        await self._verify_signature(assertion, client, kid=header["kid"], alg=alg)
        # From here on ``claims`` are trusted: they are the bytes the signature covers.
        self._check_audience(claims)
        expires_at = self._check_times(claims, now)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise InvalidClient("jti_missing")
        if not await self._jti_store.remember(client.client_id, jti, expires_at + CLOCK_SKEW):
            raise InvalidClient("jti_replayed")
        return AuthenticatedClient(client=client, assertion_id=jti)

    @staticmethod
    def _check_header(header: dict[str, Any]) -> str:
        alg = header.get("alg")
        if alg not in ASSERTION_ALGORITHMS:
            raise InvalidClient("alg_not_allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise InvalidClient("typ_invalid")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidClient("kid_missing")
        return str(alg)

    async def _client_for(self, claims: dict[str, Any]) -> RegisteredClient:
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise InvalidClient("iss_missing")
        if claims.get("sub") != issuer:
            raise InvalidClient("sub_not_iss")
        client = await self._clients.get(issuer)
        if client is None:
            raise InvalidClient("client_unknown")
        return client

    @staticmethod
    def _check_jku(header: dict[str, Any], client: RegisteredClient) -> None:
        if "jku" in header and (client.jwks_uri is None or header["jku"] != client.jwks_uri):
            raise InvalidClient("jku_unregistered")

    async def _verify_signature(
        self, assertion: str, client: RegisteredClient, *, kid: str, alg: str
    ) -> None:
        try:
            key_set = await self._keys.keys_for(client, kid=kid)
            key = select_key(key_set, kid=kid, alg=alg)
        except KeysUnavailable as error:
            raise InvalidClient("keys_unavailable") from error
        except KeySelectionError as error:
            raise InvalidClient(error.reason) from error
        try:
            jws.deserialize_compact(assertion, key, algorithms=[alg])
        except JoseError as error:
            raise InvalidClient("signature_invalid") from error

    def _check_audience(self, claims: dict[str, Any]) -> None:
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self._token_url not in audiences:
            raise InvalidClient("aud_invalid")

    @staticmethod
    def _check_times(claims: dict[str, Any], now: datetime) -> datetime:
        expires_at = _numeric_date(claims, "exp")
        if expires_at is None:
            raise InvalidClient("exp_missing")
        if expires_at <= now - CLOCK_SKEW:
            raise InvalidClient("exp_past")
        if expires_at > now + MAX_ASSERTION_LIFETIME:
            raise InvalidClient("exp_too_far")
        not_before = _numeric_date(claims, "nbf")
        if not_before is not None and not_before > now + CLOCK_SKEW:
            raise InvalidClient("nbf_future")
        issued_at = _numeric_date(claims, "iat")
        if issued_at is not None and issued_at > now + CLOCK_SKEW:
            raise InvalidClient("iat_future")
        return expires_at
