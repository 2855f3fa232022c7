"""The token endpoint of SMART Backend Services (backend-services.md §"Obtain access token").

Request checks follow RFC 6749 §4.4 and §5.2 with client authentication by RFC 7523
§2.2 / §3: a missing or repeated parameter is ``invalid_request``; a grant other than
``client_credentials`` is ``unsupported_grant_type``; an unsupported
``client_assertion_type`` is an unsupported authentication method, hence
``invalid_client`` (RFC 6749 §5.2); a scope that breaks the grammar or that the client
was not granted is ``invalid_scope``. Scope is checked only after the client has
authenticated, so unauthenticated callers learn nothing about registrations. Every
issuance and refusal is audited; the audit never sees the assertion or the token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from uuid import uuid4

from gateway.auth.access_tokens import (
    MAX_ACCESS_TOKEN_LIFETIME,
    GatewaySigningKey,
    IssuedAccessToken,
    issue_access_token,
)
from gateway.auth.client_assertion import ClientAssertionValidator, claimed_client_id
from gateway.auth.client_keys import ClientKeyResolver
from gateway.auth.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnsupportedGrantType,
)
from gateway.auth.keyring import Keyring
from gateway.auth.ports import AuthAuditSink, AuthEvent, ClientRegistry, JtiStore
from gateway.auth.scopes import Scope, ScopeSet, grant

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024
MAX_AUDITED_SCOPE_CHARS = 1000
TOKEN_PARAMETERS = ("grant_type", "client_assertion_type", "client_assertion", "scope")


@dataclass(frozen=True)
class TokenRequest:
    client_assertion: str
    scope: str


def read_form(content_type: str | None, body: bytes) -> list[tuple[str, str]]:
    """The fields of an ``application/x-www-form-urlencoded`` body (RFC 6749 §4.4.2)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise InvalidRequest(f"the body must be {FORM_MEDIA_TYPE}", reason="not_form")
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequest("the body is too large", reason="body_too_large")
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidRequest("the body is not a valid form", reason="form_unreadable") from error


def read_token_request(form: Sequence[tuple[str, str]]) -> TokenRequest:
    """Check the form parameters of a token request, in RFC 6749 §5.2 order."""
    values: dict[str, str] = {}
    for name, value in form:
        if name in values:
            raise InvalidRequest(f"parameter {name} repeated", reason="parameter_repeated")
        values[name] = value
    if not values.get("grant_type"):
        raise InvalidRequest("grant_type is required", reason="parameter_missing")
    if values["grant_type"] != GRANT_TYPE:
        raise UnsupportedGrantType(f"only {GRANT_TYPE} is supported")
    missing = [name for name in TOKEN_PARAMETERS if not values.get(name)]
    if missing:
        raise InvalidRequest(
            f"missing parameter(s): {', '.join(missing)}", reason="parameter_missing"
        )
    if values["client_assertion_type"] != ASSERTION_TYPE:
        raise InvalidClient("assertion_type_unsupported")
    return TokenRequest(values["client_assertion"], values["scope"])


class TokenService:
    """Issues access tokens to registered backend-services clients."""

    def __init__(
        self,
        *,
        public_url: str,
        token_url: str,
        clients: ClientRegistry,
        jti_store: JtiStore,
        key_resolver: ClientKeyResolver,
        signing_key: GatewaySigningKey | Keyring,
        audit: AuthAuditSink,
        clock: Callable[[], datetime],
        token_lifetime: timedelta = MAX_ACCESS_TOKEN_LIFETIME,
        new_token_id: Callable[[], str] = lambda: uuid4().hex,
        scopes_supported: Sequence[str] = (),
    ) -> None:
        self.public_url = public_url
        self.token_url = token_url
        self._clients = clients
        self._validator = ClientAssertionValidator(
            token_url=token_url, clients=clients, jti_store=jti_store, keys=key_resolver
        )
        self._signing_key = signing_key
        self._audit = audit
        self._clock = clock
        self._token_lifetime = min(token_lifetime, MAX_ACCESS_TOKEN_LIFETIME)
        self._new_token_id = new_token_id
        self._scopes_supported = list(scopes_supported)

    async def exchange(self, *, content_type: str | None, body: bytes) -> IssuedAccessToken:
        """Answer one token request; raise an ``OAuthError`` (already audited) on refusal."""
        now = self._clock()
        claimed: str | None = None
        requested_scope: str | None = None
        try:
            request = read_token_request(read_form(content_type, body))
            requested_scope = request.scope[:MAX_AUDITED_SCOPE_CHARS]
            claimed = claimed_client_id(request.client_assertion)
            authenticated = await self._validator.authenticate(request.client_assertion, now=now)
            claimed = authenticated.client.client_id
            scopes = self._granted(request.scope, authenticated.client.scopes)
        except OAuthError as refusal:
            await self._audit.record(
                AuthEvent(
                    action="token.refused",
                    at=now,
                    client_id=claimed,
                    error=refusal.error,
                    reason=refusal.reason,
                    scope=requested_scope,
                )
            )
            raise
        issued = issue_access_token(
            await self._signer(),
            issuer=self.public_url,
            client_id=authenticated.client.client_id,
            scopes=scopes,
            now=now,
            token_id=self._new_token_id(),
            lifetime=self._token_lifetime,
        )
        await self._audit.record(
            AuthEvent(
                action="token.issued",
                at=now,
                client_id=authenticated.client.client_id,
                scope=issued.scope,
                token_id=issued.token_id,
                expires_in=issued.expires_in,
            )
        )
        return issued

    @staticmethod
    def _granted(requested_text: str, allowed: list[str]) -> ScopeSet:
        requested = ScopeSet.parse(requested_text)
        granted = grant(requested, ScopeSet.of(_readable_scopes(allowed)))
        if len(granted) != len(requested):
            refused = [str(scope) for scope in requested if scope not in granted.scopes]
            raise InvalidScope(
                "scope not granted to this client", reason="scope_not_granted:" + " ".join(refused)
            )
        return granted

    def smart_configuration(self) -> dict[str, Any]:
        """``/.well-known/smart-configuration`` (SMART App Launch 2.x conformance.md)."""
        return {
            "issuer": self.public_url,
            "jwks_uri": f"{self.public_url.rstrip('/')}/auth/jwks",
            "token_endpoint": self.token_url,
            "grant_types_supported": [GRANT_TYPE],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "scopes_supported": self._scopes_supported,
            "response_types_supported": [],  # no authorization endpoint, so none apply
            "capabilities": ["client-confidential-asymmetric", "permission-v2"],
        }

    async def _signer(self) -> GatewaySigningKey:
        if isinstance(self._signing_key, Keyring):
            return await self._signing_key.signer()
        return self._signing_key

    def jwks(self) -> dict[str, Any]:
        """The keys access tokens are verified with (all still valid during a rotation)."""
        return self._signing_key.public_jwks()

    async def current_jwks(self) -> dict[str, Any]:
        """``jwks()`` after looking for a rotation made by another process."""
        if isinstance(self._signing_key, Keyring):
            await self._signing_key.signer()
        return self.jwks()


def _readable_scopes(texts: list[str]) -> list[Scope]:
    """A client's registered scopes; a malformed registration grants nothing."""
    readable: list[Scope] = []
    for text in texts:
        try:
            readable.extend(ScopeSet.parse(text))
        except InvalidScope:
            continue
    return readable
