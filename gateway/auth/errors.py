"""OAuth 2.0 errors of the authorization server (RFC 6749 §5.2, RFC 7521 §4.2.1).

Each class carries its spec code in ``error``. ``description`` is what a client
may see; ``reason`` is the precise internal cause, kept for the audit log only.

    OAuthError (GatewayError)
    ├── InvalidRequest        400 invalid_request
    ├── UnsupportedGrantType  400 unsupported_grant_type
    ├── InvalidScope          400 invalid_scope
    └── InvalidClient         401 invalid_client (description names the rule that failed)
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


RULES_BROKEN: dict[str, str] = {
    "assertion_type_unsupported": "client_assertion_type must be "
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    "malformed": "client_assertion is not a compact JWS",
    "alg_not_allowed": "the assertion's alg must be RS384 or ES384",
    "typ_invalid": "the assertion's typ header must be JWT",
    "kid_missing": "the assertion's header has no kid",
    "kid_unknown": "no key registered for this client has the assertion's kid",
    "kty_mismatch": "the key named by kid does not fit the assertion's alg",
    "kid_ambiguous": "the assertion's kid names more than one key",
    "iss_missing": "the assertion has no iss",
    "sub_not_iss": "the assertion's iss and sub must both be the client_id",
    "client_unknown": "the assertion's iss is not a registered client_id",
    "jku_unregistered": "the assertion's jku is not the client's registered JWKS URL",
    "keys_unavailable": "the client's registered JWKS could not be fetched",
    "aud_invalid": "the assertion's aud must be the token endpoint URL",
    "exp_missing": "the assertion has no exp",
    "exp_invalid": "the assertion's exp is not a NumericDate",
    "exp_past": "the assertion has expired",
    "exp_too_far": "the assertion's exp is more than 5 minutes ahead",
    "nbf_invalid": "the assertion's nbf is not a NumericDate",
    "nbf_future": "the assertion's nbf is in the future",
    "iat_invalid": "the assertion's iat is not a NumericDate",
    "iat_future": "the assertion's iat is in the future",
    "jti_missing": "the assertion has no jti",
    "jti_replayed": "the assertion's jti was used before",
}
"""The SMART / RFC 7523 §3 rule each refusal reason broke, as the client is told it.

A reason not listed (``signature_invalid`` above all) gets only the generic
description: why a signature did not verify never leaves the server.
"""


class InvalidClient(OAuthError):
    """Any client authentication failure; the description names the rule that failed."""

    status_code = 401
    issue_code = "login"
    error = "invalid_client"
    public_description = "client authentication failed"

    def __init__(self, reason: str) -> None:
        rule = RULES_BROKEN.get(reason)
        description = f"{self.public_description}: {rule}" if rule else self.public_description
        super().__init__(description, reason=reason)
