"""OAuth 2.0 errors of the authorization server (RFC 6749 §5.2, RFC 7521 §4.2.1).

Each class carries its spec code in ``error``. ``description`` is what a client
may see; ``reason`` is the precise internal cause, kept for the audit log only.

    OAuthError (GatewayError)
    ├── InvalidRequest        400 invalid_request
    ├── UnsupportedGrantType  400 unsupported_grant_type
    ├── InvalidScope          400 invalid_scope
    └── InvalidClient         401 invalid_client (description always generic)
"""

from __future__ import annotations

from gateway.errors import GatewayError


class OAuthError(GatewayError):
    error: str = "invalid_request"

    def __init__(self, description: str, *, reason: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.reason = reason or self.error


class InvalidRequest(OAuthError):
    status_code = 400
    issue_code = "invalid"
    error = "invalid_request"


class UnsupportedGrantType(OAuthError):
    status_code = 400
    issue_code = "not-supported"
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    status_code = 400
    issue_code = "invalid"
    error = "invalid_scope"


class InvalidClient(OAuthError):
    """Any client authentication failure. Nothing about the cause leaves the server."""

    status_code = 401
    issue_code = "login"
    error = "invalid_client"
    public_description = "client authentication failed"

    def __init__(self, reason: str) -> None:
        super().__init__(self.public_description, reason=reason)
