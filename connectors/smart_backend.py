"""The gateway as a SMART Backend Services client of an EHR.

SMART App Launch 2.x backend-services.md §"Obtain access token" and
client-confidential-asymmetric.md; RFC 7523 §2.2 and §3. ``SmartBackendAuth`` is an
``httpx.Auth``: for each token request it signs a fresh assertion (RS384 or ES384,
``kid`` and ``typ: JWT`` in the header, ``iss`` = ``sub`` = client id, ``aud`` = the
token URL, ``exp`` at most 300 s ahead, a new random ``jti``), discovers the token URL
from ``{base_url}/.well-known/smart-configuration`` when not configured, reuses the
access token until shortly before it expires, and on a 401 from the EHR fetches a new
token once and retries once.

Token failures surface as the delivery errors of ``connectors.base``: a refusal by the
token endpoint (400/401, e.g. the EHR does not accept the gateway's key) is a
``TokenRefused``, transient so the referral is kept and retried once the EHR is fixed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from connectors.base import TransientDeliveryError
from connectors.http_errors import delivery_error_for, delivery_error_from_transport

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300
SigningAlgorithm = Literal["RS384", "ES384"]


class TokenRefused(TransientDeliveryError):
    """The EHR's token endpoint refused the gateway (``oauth_error`` names why, e.g.
    ``invalid_client``)."""

    def __init__(self, reason: str, *, oauth_error: str | None) -> None:
        super().__init__(reason)
        self.oauth_error = oauth_error


@dataclass(frozen=True)
class SmartBackendCredentials:
    """What the EHR registered for the gateway (``destinations[].auth`` in the config)."""

    client_id: str
    private_key_pem: bytes
    kid: str
    alg: SigningAlgorithm
    scope: str
    token_url: str | None = None


@dataclass(frozen=True)
class AssertionKey:
    """A key to sign client assertions with, as a rotating keyring hands it out."""

    private_key_pem: bytes
    kid: str
    alg: SigningAlgorithm


KeySource = Callable[[], Awaitable[AssertionKey | None]]


def load_signing_key(pem: bytes, alg: SigningAlgorithm) -> RSAKey | ECKey:
    """The private key for ``alg``: RSA for RS384, EC P-384 for ES384."""
    try:
        key: RSAKey | ECKey = RSAKey.import_key(pem) if alg == "RS384" else ECKey.import_key(pem)
    except (JoseError, ValueError, TypeError) as error:
        raise ValueError(f"private key is not a PEM key usable with {alg}") from error
    if not key.is_private:
        raise ValueError("a private key is required to sign client assertions")
    if isinstance(key, ECKey) and key.curve_name != "P-384":
        raise ValueError("ES384 needs an EC key on curve P-384")
    return key


@dataclass
class _CachedToken:
    value: str
    reuse_until: float


class SmartBackendAuth(httpx.Auth):
    """Bearer tokens from an EHR's SMART token endpoint, for an ``httpx.AsyncClient``.

    ``http`` carries the token and discovery requests (sent without this auth).
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: SmartBackendCredentials,
        *,
        base_url: str,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
        new_jti: Callable[[], str] = lambda: secrets.token_urlsafe(32),
        assertion_lifetime: int = MAX_ASSERTION_LIFETIME,
        refresh_margin: float = 30.0,
        key_source: KeySource | None = None,
    ) -> None:
        if not 0 < assertion_lifetime <= MAX_ASSERTION_LIFETIME:
            raise ValueError(f"assertion lifetime must be 1..{MAX_ASSERTION_LIFETIME} seconds")
        self._credentials = credentials
        self._key = load_signing_key(credentials.private_key_pem, credentials.alg)
        self._kid: str = credentials.kid
        self._alg: SigningAlgorithm = credentials.alg
        self._key_source = key_source
        self._base_url = base_url.rstrip("/")
        self._http = http
        self._clock = clock
        self._new_jti = new_jti
        self._assertion_lifetime = assertion_lifetime
        self._refresh_margin = refresh_margin
        self._token_url = credentials.token_url
        self._cached: _CachedToken | None = None
        self._lock = asyncio.Lock()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("SmartBackendAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        self._forget(token)
        request.headers["Authorization"] = f"Bearer {await self.access_token()}"
        yield request

    async def access_token(self) -> str:
        """A cached token while it has more than the refresh margin left, else a new one."""
        async with self._lock:
            now = self._clock()
            if self._cached is not None and now < self._cached.reuse_until:
                return self._cached.value
            self._cached = await self._request_token()
            return self._cached.value

    def client_assertion(self, token_url: str, *, now: float) -> str:
        """A freshly signed assertion: new claims and a new ``jti`` on every call."""
        issued_at = int(now)
        claims = {
            "iss": self._credentials.client_id,
            "sub": self._credentials.client_id,
            "aud": token_url,
            "iat": issued_at,
            "exp": issued_at + self._assertion_lifetime,
            "jti": self._new_jti(),
        }
        header = {"alg": self._alg, "kid": self._kid, "typ": "JWT"}
        return jws.serialize_compact(header, json.dumps(claims), self._key, algorithms=[self._alg])

    async def _use_current_key(self) -> None:
        """Switch to the key the source names now, if it names another."""
        current = await self._key_source() if self._key_source is not None else None
        if current is not None and current.kid != self._kid:
            self._key = load_signing_key(current.private_key_pem, current.alg)
            self._kid, self._alg = current.kid, current.alg

    async def aclose(self) -> None:
        """Close the client that carries the token and discovery requests."""
        await self._http.aclose()

    def _forget(self, token: str) -> None:
        if self._cached is not None and self._cached.value == token:
            self._cached = None

    async def _request_token(self) -> _CachedToken:
        token_url = await self._discover_token_url()
        await self._use_current_key()
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.client_assertion(token_url, now=self._clock()),
            "scope": self._credentials.scope,
        }
        response = await self._call("token endpoint", "POST", token_url, data=form)
        if response.status_code in (400, 401):
            oauth_error = _json_field(response, "error")
            raise TokenRefused(
                f"token endpoint refused the gateway: {response.status_code} {oauth_error}",
                oauth_error=oauth_error,
            )
        self._raise_for(response, "token endpoint")
        access_token = _json_field(response, "access_token")
        token_type = _json_field(response, "token_type")
        if not access_token or (token_type or "").lower() != "bearer":
            raise TransientDeliveryError("token endpoint answered without a bearer access token")
        expires_in = _expires_in(response)
        margin = min(self._refresh_margin, expires_in / 2)
        return _CachedToken(access_token, self._clock() + expires_in - margin)

    async def _discover_token_url(self) -> str:
        if self._token_url is not None:
            return self._token_url
        url = f"{self._base_url}/.well-known/smart-configuration"
        response = await self._call("SMART discovery", "GET", url)
        self._raise_for(response, "SMART discovery")
        token_url = _json_field(response, "token_endpoint")
        if not token_url:
            raise TransientDeliveryError("SMART discovery named no token_endpoint")
        self._token_url = token_url
        return token_url

    async def _call(self, what: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(
                method, url, auth=None, headers={"Accept": "application/json"}, **kwargs
            )
        except httpx.TransportError as error:
            raise delivery_error_from_transport(error, what=what) from error

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        error = delivery_error_for(response, what=what, now=self._clock())
        if error is not None:
            raise error


def _json_field(response: httpx.Response, name: str) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _expires_in(response: httpx.Response) -> float:
    """Seconds the token lives; SMART says ``expires_in`` is present, else assume 300."""
    value = response.json().get("expires_in")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return float(MAX_ASSERTION_LIFETIME)
    return float(value)
