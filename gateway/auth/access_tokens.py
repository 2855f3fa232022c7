"""Access tokens: the gateway's own (issued as JWTs) and those of trusted issuers.

Gateway tokens follow the JWT profile for OAuth access tokens (RFC 9068 §2: ``typ``
``at+jwt``; ``iss``, ``sub``, ``client_id``, ``aud``, ``exp``, ``iat``, ``jti``,
``scope``), signed with the gateway's key (RS384 or ES384), and live at most 300 s
(SMART App Launch 2.x backend-services.md §"Response"). Verification (RFC 7519 §7.2)
accepts the gateway and each configured external issuer: signature by a key of that
issuer chosen by ``kid``, ``iss``, ``aud``, ``exp``; scopes from ``scope`` (space
separated) or ``scp`` (list), read with the SMART grammar, unreadable entries granting
nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from gateway.auth.client_keys import JwksCache, KeysUnavailable, parse_key_set
from gateway.auth.errors import InvalidScope
from gateway.auth.jose_parts import (
    ASYMMETRIC_ALGORITHMS,
    KeySelectionError,
    MalformedJws,
    select_key,
    unverified_parts,
)
from gateway.auth.scopes import ScopeSet, parse_scope

MAX_ACCESS_TOKEN_LIFETIME = timedelta(seconds=300)
ACCESS_TOKEN_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})
SigningAlgorithm = Literal["RS384", "ES384"]


class GatewaySigningKey:
    """The gateway's private key for access tokens; RSA signs RS384, EC P-384 signs ES384."""

    def __init__(self, key: RSAKey | ECKey, *, kid: str | None = None) -> None:
        if not key.is_private:
            raise ValueError("the gateway signing key must be a private key")
        if isinstance(key, ECKey) and key.curve_name != "P-384":
            raise ValueError("an EC gateway signing key must be on curve P-384 (ES384)")
        self.alg: SigningAlgorithm = "RS384" if isinstance(key, RSAKey) else "ES384"
        self.kid = kid or key.kid or key.thumbprint()
        self._key = key

    @classmethod
    def from_pem(cls, pem: bytes, *, kid: str | None = None) -> GatewaySigningKey:
        key_classes: tuple[type[RSAKey], type[ECKey]] = (RSAKey, ECKey)
        for key_class in key_classes:
            try:
                key = key_class.import_key(pem)
            except (JoseError, ValueError, TypeError):
                continue
            return cls(key, kid=kid)
        raise ValueError("the gateway signing key must be an RSA or EC P-384 private key in PEM")

    @classmethod
    def from_pem_file(cls, path: str | Path, *, kid: str | None = None) -> GatewaySigningKey:
        return cls.from_pem(Path(path).read_bytes(), kid=kid)

    @classmethod
    def generate(cls, alg: str = "ES384", *, kid: str | None = None) -> GatewaySigningKey:
        """A fresh key: RSA 3072 for RS384, EC P-384 for ES384."""
        key: RSAKey | ECKey = (
            RSAKey.generate_key(3072) if alg == "RS384" else ECKey.generate_key("P-384")
        )
        return cls(key, kid=kid)

    @classmethod
    def generate_ephemeral(cls, alg: SigningAlgorithm = "ES384") -> GatewaySigningKey:
        """A fresh key that lives as long as the process: for development only."""
        return cls.generate(alg)

    def private_pem(self) -> bytes:
        return self._key.as_pem(private=True)

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": self.alg, "kid": self.kid, "typ": "at+jwt"}
        return jwt.encode(header, claims, self._key, algorithms=[self.alg])

    def public_jwks(self) -> dict[str, Any]:
        public = dict(self._key.as_dict(private=False))
        public.update(kid=self.kid, alg=self.alg, use="sig")
        return {"keys": [public]}


@dataclass(frozen=True)
class IssuedAccessToken:
    access_token: str
    expires_in: int
    scope: str
    token_id: str


def issue_access_token(
    signing_key: GatewaySigningKey,
    *,
    issuer: str,
    client_id: str,
    scopes: ScopeSet,
    now: datetime,
    token_id: str,
    lifetime: timedelta = MAX_ACCESS_TOKEN_LIFETIME,
) -> IssuedAccessToken:
    """Sign an access token for ``client_id``; its audience is the gateway itself."""
    lifetime = min(lifetime, MAX_ACCESS_TOKEN_LIFETIME)
    issued_at = int(now.timestamp())
    expires_in = int(lifetime.total_seconds())
    claims = {
        "iss": issuer,
        "sub": client_id,
        "client_id": client_id,
        "aud": issuer,
        "scope": str(scopes),
        "iat": issued_at,
        "exp": issued_at + expires_in,
        "jti": token_id,
    }
    return IssuedAccessToken(signing_key.sign(claims), expires_in, str(scopes), token_id)


@dataclass(frozen=True)
class Principal:
    """Who is calling, as proven by a verified access token."""

    client_id: str
    issuer: str
    scopes: ScopeSet
    token_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.scopes.is_operator


@dataclass(frozen=True)
class TrustedIssuer:
    """An authorization server whose tokens are accepted: keys inline or at ``jwks_uri``."""

    issuer: str
    audience: str
    jwks_uri: str | None = None
    jwks: dict[str, Any] | None = None
    algorithms: frozenset[str] = ASYMMETRIC_ALGORITHMS
    namespaced: bool = True
    """Name its clients ``<issuer>#<client_id>`` so they never pass for a local client."""
    key_source: Callable[[str | None], Awaitable[KeySet]] | None = None
    """Keys that change while the process runs (the gateway's own keyring), by ``kid``."""

    @classmethod
    def gateway(cls, signing_key: GatewaySigningKey, public_url: str) -> TrustedIssuer:
        return cls(
            issuer=public_url,
            audience=public_url,
            jwks=signing_key.public_jwks(),
            algorithms=frozenset({signing_key.alg}),
            namespaced=False,
        )

    @classmethod
    def gateway_keyring(
        cls, key_source: Callable[[str | None], Awaitable[KeySet]], public_url: str
    ) -> TrustedIssuer:
        """The gateway itself, its keys read from its rotating keyring."""
        return cls(
            issuer=public_url,
            audience=public_url,
            algorithms=frozenset({"RS384", "ES384"}),
            namespaced=False,
            key_source=key_source,
        )


class AccessTokenRejected(Exception):
    """The token is malformed, expired, foreign or badly signed; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


VERIFIED_CACHE_SIZE = 4096


class AccessTokenVerifier:
    """Verifies bearer tokens (RFC 6750) from the gateway or a trusted external issuer."""

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        *,
        clock: Callable[[], datetime],
        jwks_cache: JwksCache | None = None,
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        if any(
            issuer.jwks is None and issuer.jwks_uri is None and issuer.key_source is None
            for issuer in issuers
        ):
            raise ValueError("every trusted issuer needs jwks or jwks_uri (or a key source)")
        if jwks_cache is None and any(issuer.jwks_uri is not None for issuer in issuers):
            raise ValueError("issuers with a jwks_uri need a jwks_cache")
        self._issuers = {issuer.issuer: issuer for issuer in issuers}
        self._clock = clock
        self._jwks_cache = jwks_cache
        self._leeway = leeway
        self._verified: OrderedDict[str, tuple[Principal, datetime]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The token's principal; a token verified before is trusted until its ``exp``.

        The cache is keyed by the whole signed token, so it can only return what a
        full verification returned for exactly these bytes (an ES384 verification
        costs about as much as the rest of an intake request).
        """
        now = self._clock()
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if now < expires:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires = await self._verify_fully(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    async def _verify_fully(self, token: str) -> tuple[Principal, datetime]:
        try:
            header, claims = unverified_parts(token)
        except MalformedJws as error:
            raise AccessTokenRejected("malformed") from error
        issuer = self._issuers.get(str(claims.get("iss")))
        if issuer is None:
            raise AccessTokenRejected("issuer_unknown")
        await self._verify_signature(token, header, issuer)
        # From here on ``claims`` are trusted: they are the bytes the signature covers.
        self._check_claims(claims, issuer)
        client_id = claims.get("client_id") or claims.get("sub")
        if not isinstance(client_id, str) or not client_id:
            raise AccessTokenRejected("client_id_missing")
        token_id = claims.get("jti")
        principal = Principal(
            client_id=f"{issuer.issuer}#{client_id}" if issuer.namespaced else client_id,
            issuer=issuer.issuer,
            scopes=_granted_scopes(claims),
            token_id=token_id if isinstance(token_id, str) else None,
        )
        return principal, datetime.fromtimestamp(float(claims["exp"]), UTC) + self._leeway

    async def _verify_signature(
        self, token: str, header: dict[str, Any], issuer: TrustedIssuer
    ) -> None:
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in issuer.algorithms:
            raise AccessTokenRejected("alg_not_allowed")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES):
            raise AccessTokenRejected("typ_invalid")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AccessTokenRejected("kid_invalid")
        try:
            key = select_key(await self._keys_of(issuer, kid), kid=kid, alg=alg)
            jws.deserialize_compact(token, key, algorithms=[alg])
        except KeysUnavailable as error:
            raise AccessTokenRejected("keys_unavailable") from error
        except KeySelectionError as error:
            raise AccessTokenRejected(error.reason) from error
        except JoseError as error:
            raise AccessTokenRejected("signature_invalid") from error

    async def _keys_of(self, issuer: TrustedIssuer, kid: str | None) -> KeySet:
        if issuer.key_source is not None:
            return await issuer.key_source(kid)
        if issuer.jwks is not None:
            return parse_key_set(issuer.jwks)
        assert self._jwks_cache is not None and issuer.jwks_uri is not None
        return await self._jwks_cache.get(issuer.jwks_uri, kid=kid)

    def _check_claims(self, claims: dict[str, Any], issuer: TrustedIssuer) -> None:
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if issuer.audience not in audiences:
            raise AccessTokenRejected("aud_invalid")
        now = self._clock()
        expires = claims.get("exp")
        if isinstance(expires, bool) or not isinstance(expires, int | float):
            raise AccessTokenRejected("exp_missing")
        if expires <= (now - self._leeway).timestamp():
            raise AccessTokenRejected("expired")
        not_before = claims.get("nbf")
        if isinstance(not_before, int | float) and not_before > (now + self._leeway).timestamp():
            raise AccessTokenRejected("not_yet_valid")


def _granted_scopes(claims: dict[str, Any]) -> ScopeSet:
    scope = claims.get("scope")
    scp = claims.get("scp")
    items: list[str] = []
    if isinstance(scope, str):
        items = scope.split()
    elif isinstance(scp, list):
        items = [item for item in scp if isinstance(item, str)]
    elif isinstance(scp, str):
        items = scp.split()
    parsed = []
    for item in items:
        try:
            parsed.append(parse_scope(item))
        except InvalidScope:
            continue
    return ScopeSet.of(parsed)


def utc_now() -> datetime:
    """The wall clock, for wiring; logic takes a clock as a parameter."""
    return datetime.now(UTC)
