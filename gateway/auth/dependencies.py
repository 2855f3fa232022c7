"""FastAPI dependency guarding resource routes with bearer tokens (RFC 6750 §2.1, §3.1).

``Authenticator("system/ServiceRequest.c")`` (or ``any_of=[...]``) finds the
``AccessTokenVerifier`` at ``request.app.state.token_verifier``. No usable bearer
credential: ``AuthenticationRequired(error="invalid_request")``; a token that does
not verify: ``AuthenticationRequired(error="invalid_token")``; a valid token without
the scope: ``InsufficientScope``. The reason a token failed is never sent back.

A gateway-issued token is honoured only while its client is still registered
(``request.app.state.client_registered``, asked on every request): ``gateway clients
remove`` shuts a client out at once, in every process, tokens it holds included.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth.access_tokens import AccessTokenRejected, AccessTokenVerifier, Principal
from gateway.auth.scopes import parse_scope
from gateway.errors import AuthenticationRequired, InsufficientScope

_bearer = HTTPBearer(auto_error=False, description="SMART Backend Services access token")


class Authenticator:
    """Requires a verified bearer token holding ``required_scope`` or one of ``any_of``."""

    def __init__(self, required_scope: str | None = None, *, any_of: Sequence[str] = ()) -> None:
        texts = [*([required_scope] if required_scope else []), *any_of]
        if not texts:
            raise ValueError("name the scope a route requires")
        self.required = tuple(parse_scope(text) for text in texts)

    async def __call__(
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal:
        if credentials is None or not credentials.credentials:
            raise AuthenticationRequired("a bearer token is required", error="invalid_request")
        verifier: AccessTokenVerifier = request.app.state.token_verifier
        try:
            principal = await verifier.verify(credentials.credentials)
        except AccessTokenRejected as rejected:
            raise AuthenticationRequired(
                "the access token is invalid or expired", error="invalid_token"
            ) from rejected
        registered = getattr(request.app.state, "client_registered", None)
        if registered is not None and not await registered(principal):
            raise AuthenticationRequired(
                "the access token is invalid or expired", error="invalid_token"
            )
        if not any(principal.scopes.covers(scope) for scope in self.required):
            wanted = " or ".join(str(scope) for scope in self.required)
            raise InsufficientScope(f"this request needs scope {wanted}")
        return principal
