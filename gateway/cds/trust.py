"""Trusting CDS Clients: the JWT an EHR signs on every CDS Hooks call.

CDS Hooks 2.0 §"Trusting CDS Clients" (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients)
and RFC 7519/7515: ``Authorization: Bearer <JWT>``; header ``alg`` asymmetric only (this
gateway: ES384 or RS384; ``none`` and HMAC are refused), ``kid`` naming exactly one key,
``typ: JWT``, ``jku`` only when it is the one configured for that issuer; claims ``iss``
(a configured ``cds_clients[]`` entry), ``aud`` the URL of the endpoint called (string or
array), ``exp`` (not past, at most five minutes ahead, 60 s leeway), ``iat``, ``jti``
never seen before for that issuer. Every failure is one ``CdsUnauthorized`` (a 401) whose
``reason`` names the rule, never why a signature did not verify.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway.auth.client_keys import JwksCache, KeysUnavailable, parse_key_set
from gateway.auth.jose_parts import KeySelectionError, MalformedJws, select_key, unverified_parts
from gateway.auth.ports import JtiStore
from gateway.cds.config import CdsClientConfig
from gateway.errors import AuthenticationRequired

ALGORITHMS = frozenset({"ES384", "RS384"})
MAX_LIFETIME = timedelta(seconds=300)
LEEWAY = timedelta(seconds=60)
JTI_NAMESPACE = "cds-hooks:"
"""Prefix on the issuer in the shared ``used_jti`` store, apart from token-endpoint clients."""

_REASONS = {
    "token_missing": "The call carries no 'Authorization: Bearer' JWT.",
    "malformed": "The bearer token is not a compact JWS.",
    "alg_not_allowed": "The JWT 'alg' must be ES384 or RS384.",
    "typ_invalid": "The JWT 'typ' must be JWT.",
    "kid_missing": "The JWT header has no 'kid'.",
    "iss_unknown": "The JWT 'iss' is not a configured CDS client.",
    "jku_not_configured": "The JWT 'jku' is not the JWK Set URL configured for this issuer.",
    "keys_unavailable": "The issuer's keys could not be read.",
    "kid_unknown": "No key of this issuer has that 'kid'.",
    "kty_mismatch": "No key with that 'kid' fits the 'alg'.",
    "kid_ambiguous": "More than one key has that 'kid'.",
    "signature_invalid": "The JWT could not be verified.",
    "aud_invalid": "The JWT 'aud' is not the URL of the endpoint called.",
    "exp_missing": "The JWT has no 'exp'.",
    "exp_invalid": "The JWT 'exp' is not a number.",
    "exp_past": "The JWT has expired.",
    "exp_too_far": "The JWT 'exp' is more than five minutes ahead.",
    "iat_missing": "The JWT has no 'iat'.",
    "iat_invalid": "The JWT 'iat' is not a number.",
    "iat_future": "The JWT 'iat' is in the future.",
    "nbf_invalid": "The JWT 'nbf' is not a number.",
    "nbf_future": "The JWT is not valid yet ('nbf').",
    "jti_missing": "The JWT has no 'jti'.",
    "jti_replayed": "The JWT 'jti' was used before.",
}


class CdsUnauthorized(AuthenticationRequired):
    """401 for a CDS Hooks call; ``reason`` is the rule that failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(_REASONS.get(reason, "The JWT is not acceptable."))
        self.reason = reason


@dataclass(frozen=True)
class CdsCaller:
    """The EHR a verified JWT speaks for."""

    client: CdsClientConfig
    jti: str
    tenant: str | None = None

    @property
    def iss(self) -> str:
        return self.client.iss


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _numeric_date(claims: dict[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CdsUnauthorized(f"{name}_invalid")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise CdsUnauthorized(f"{name}_invalid") from error


def _stored_jti(jti: str) -> str:
    """The ``jti`` as the store keeps it: a long one by its SHA-256, so none is cut short."""
    return jti if len(jti) <= 128 else "sha256:" + hashlib.sha256(jti.encode()).hexdigest()


class CdsJwtVerifier:
    """Checks a CDS Client's JWT for the endpoint ``audience`` (see module docstring)."""

    def __init__(
        self, clients: list[CdsClientConfig], *, jwks_cache: JwksCache, jti_store: JtiStore
    ) -> None:
        self._clients = {client.iss: client for client in clients}
        self._jwks_cache = jwks_cache
        self._jti_store = jti_store

    async def verify(self, token: str | None, *, audience: str, now: datetime) -> CdsCaller:
        if not token:
            raise CdsUnauthorized("token_missing")
        try:
            header, claims = unverified_parts(token)
        except MalformedJws as error:
            raise CdsUnauthorized("malformed") from error
        alg, kid = self._check_header(header)
        client = self._client_for(claims)
        keys = await self._keys(client, header, kid)
        try:
            key = select_key(keys, kid=kid, alg=alg)
        except KeySelectionError as error:
            raise CdsUnauthorized(error.reason) from error
        try:
            jws.deserialize_compact(token, key, algorithms=[alg])
        except JoseError as error:
            raise CdsUnauthorized("signature_invalid") from error
        # From here on the claims are the signed bytes.
        self._check_audience(claims, audience)
        expires_at = self._check_times(claims, now)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise CdsUnauthorized("jti_missing")
        if not await self._jti_store.remember(
            (JTI_NAMESPACE + client.iss)[:200], _stored_jti(jti), expires_at + LEEWAY
        ):
            raise CdsUnauthorized("jti_replayed")
        tenant = claims.get("tenant")
        return CdsCaller(client, jti, tenant if isinstance(tenant, str) else None)

    @staticmethod
    def _check_header(header: dict[str, Any]) -> tuple[str, str]:
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise CdsUnauthorized("alg_not_allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise CdsUnauthorized("typ_invalid")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise CdsUnauthorized("kid_missing")
        return str(alg), kid

    def _client_for(self, claims: dict[str, Any]) -> CdsClientConfig:
        issuer = claims.get("iss")
        client = self._clients.get(issuer) if isinstance(issuer, str) else None
        if client is None:
            raise CdsUnauthorized("iss_unknown")
        return client

    async def _keys(self, client: CdsClientConfig, header: dict[str, Any], kid: str) -> KeySet:
        if "jku" in header and (client.jku is None or header["jku"] != client.jku):
            raise CdsUnauthorized("jku_not_configured")
        try:
            if client.jwks is not None:
                return parse_key_set(client.jwks)
            assert client.jku is not None
            return await self._jwks_cache.get(client.jku, kid=kid)
        except KeysUnavailable as error:
            raise CdsUnauthorized("keys_unavailable") from error

    @staticmethod
    def _check_audience(claims: dict[str, Any], audience: str) -> None:
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if audience not in audiences:
            raise CdsUnauthorized("aud_invalid")

    @staticmethod
    def _check_times(claims: dict[str, Any], now: datetime) -> datetime:
        expires_at = _numeric_date(claims, "exp")
        if expires_at is None:
            raise CdsUnauthorized("exp_missing")
        if expires_at <= now - LEEWAY:
            raise CdsUnauthorized("exp_past")
        if expires_at > now + MAX_LIFETIME + LEEWAY:
            raise CdsUnauthorized("exp_too_far")
        issued_at = _numeric_date(claims, "iat")
        if issued_at is None:
            raise CdsUnauthorized("iat_missing")
        if issued_at > now + LEEWAY:
            raise CdsUnauthorized("iat_future")
        not_before = _numeric_date(claims, "nbf")
        if not_before is not None and not_before > now + LEEWAY:
            raise CdsUnauthorized("nbf_future")
        return expires_at
