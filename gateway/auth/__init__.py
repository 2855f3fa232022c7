"""SMART App Launch 2.x Backend Services: the gateway's authorization server and token checks.

One module per concern: ``scopes`` (the scope grammar), ``client_keys`` (JWK Sets and
their caching), ``client_assertion`` (RFC 7523 §3 client authentication),
``access_tokens`` (issuing and verifying bearer tokens), ``token_endpoint`` and
``router`` (the HTTP endpoints), ``dependencies`` (route guards), ``ports`` (what the
database provides).
"""

from gateway.auth.access_tokens import (
    AccessTokenRejected,
    AccessTokenVerifier,
    GatewaySigningKey,
    Principal,
    TrustedIssuer,
)
from gateway.auth.client_keys import ClientKeyResolver, JwksCache
from gateway.auth.dependencies import Authenticator
from gateway.auth.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnsupportedGrantType,
)
from gateway.auth.ports import (
    AuthAuditSink,
    AuthEvent,
    ClientRegistry,
    JtiStore,
    RegisteredClient,
)
from gateway.auth.router import build_auth_router
from gateway.auth.scopes import Scope, ScopeSet, grant, parse_scope
from gateway.auth.token_endpoint import TokenService

__all__ = [
    "AccessTokenRejected",
    "AccessTokenVerifier",
    "AuthAuditSink",
    "AuthEvent",
    "Authenticator",
    "ClientKeyResolver",
    "ClientRegistry",
    "GatewaySigningKey",
    "InvalidClient",
    "InvalidRequest",
    "InvalidScope",
    "JtiStore",
    "JwksCache",
    "OAuthError",
    "Principal",
    "RegisteredClient",
    "Scope",
    "ScopeSet",
    "TokenService",
    "TrustedIssuer",
    "UnsupportedGrantType",
    "build_auth_router",
    "grant",
    "parse_scope",
]
