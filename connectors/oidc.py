"""An OpenID Connect relying party: discovery, code exchange, ID token checks.

OpenID Connect Core 1.0 §3.1 (authorization code flow) with PKCE (RFC 7636, S256);
discovery per OpenID Connect Discovery 1.0 §4; ID token validation per Core §3.1.3.7
(issuer, audience, expiry, nonce, signature from the provider's JWKS).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet


class OidcError(Exception):
    """The provider could not be used, or its answer failed a check (the message says)."""


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    def __init__(
        self, issuer: str, client_id: str, client_secret: str | None, http: httpx.AsyncClient
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.http = http
        self._metadata: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            try:
                response = await self.http.get(f"{self.issuer}/.well-known/openid-configuration")
                response.raise_for_status()
                document = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise OidcError(f"discovery failed: {exc}") from None
            if document.get("issuer", "").rstrip("/") != self.issuer:
                raise OidcError("discovery: the issuer does not match the configured one")
            self._metadata = document
        return self._metadata

    async def authorization_url(
        self, *, redirect_uri: str, scope: str, state: str, nonce: str, challenge: str
    ) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        query = urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
            "scope": scope, "state": state, "nonce": nonce, "code_challenge": challenge,
            "code_challenge_method": "S256",
        })
        return f"{endpoint}?{query}"

    async def claims(
        self, *, code: str, redirect_uri: str, verifier: str, nonce: str
    ) -> dict[str, Any]:
        """Exchange ``code`` and return the checked ID token's claims."""
        metadata = await self.metadata()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier, "client_id": self.client_id}
        try:
            if self.client_secret:  # client_secret_basic (RFC 6749 §2.3.1); else a public client
                response = await self.http.post(
                    metadata["token_endpoint"], data=form,
                    auth=httpx.BasicAuth(self.client_id, self.client_secret),
                )
            else:
                response = await self.http.post(metadata["token_endpoint"], data=form)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"token request failed: {exc}") from None
        if response.status_code != 200 or "id_token" not in body:
            raise OidcError(f"token request refused: {body.get('error', response.status_code)}")
        return await self._checked(str(body["id_token"]), nonce)

    async def _checked(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            keys = (await self.http.get((await self.metadata())["jwks_uri"])).json()
            token = jwt.decode(id_token, KeySet.import_key_set(keys),
                               algorithms=["RS256", "RS384", "ES256", "ES384", "PS256"])
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise OidcError(f"ID token not verified: {exc}") from None
        claims = dict(token.claims)
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if str(claims.get("iss", "")).rstrip("/") != self.issuer:
            raise OidcError("ID token: wrong issuer")
        if self.client_id not in audiences:
            raise OidcError("ID token: not meant for this client")
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
            raise OidcError("ID token: expired")
        if claims.get("nonce") != nonce:
            raise OidcError("ID token: wrong nonce")
        return claims
