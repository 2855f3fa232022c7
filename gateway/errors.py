"""One error tree for the whole gateway.

Every error carries its HTTP status and the FHIR ``issue.code``
(http://hl7.org/fhir/R4/valueset-issue-type.html). One handler in
``gateway.api.errors`` renders them as an OperationOutcome; auth routes render
the OAuth 2.0 error body (RFC 6749 §5.2) instead. Never a stack trace.

    GatewayError
    ├── InvalidInput (422, invalid)          a field is wrong; ``issues`` name each field
    ├── MalformedRequest (400, structure)    not JSON, wrong content type
    ├── PayloadTooLarge (413, too-long)
    ├── UnsupportedMediaType (415, not-supported)  not JSON, or an encoding other than gzip
    ├── AuthenticationRequired (401, login)  missing, malformed, expired or foreign token
    ├── InsufficientScope (403, forbidden)   token lacks the scope the route needs
    ├── Forbidden (403, forbidden)           e.g. consent covers no destination
    ├── NotFound (404, not-found)
    ├── Conflict (409, conflict)             same idempotency key, different body
    ├── PreconditionFailed (412, conflict)   If-Match names a stale version
    ├── BusinessRuleViolation (422, business-rule)
    ├── RateLimited (429, throttled)         a client's rate limit; carries Retry-After
    └── Overloaded (503, transient)          carries Retry-After
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome issue: what is wrong and where (a FHIRPath-ish expression)."""

    diagnostics: str
    expression: str | None = None
    code: str | None = None
    severity: str = "error"


class GatewayError(Exception):
    status_code: int = 500
    issue_code: str = "exception"
    retry_after: int | None = None
    """Seconds for a ``Retry-After`` header (RFC 9110 §10.2.3), where the error has one."""

    def __init__(self, message: str, *, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.issues = issues or [Issue(diagnostics=message)]


class InvalidInput(GatewayError):
    status_code = 422
    issue_code = "invalid"


class MalformedRequest(GatewayError):
    status_code = 400
    issue_code = "structure"


class PayloadTooLarge(GatewayError):
    status_code = 413
    issue_code = "too-long"


class UnsupportedMediaType(GatewayError):
    status_code = 415
    issue_code = "not-supported"


class AuthenticationRequired(GatewayError):
    """401; ``error`` is the RFC 6750 §3.1 code put in ``WWW-Authenticate``."""

    status_code = 401
    issue_code = "login"

    def __init__(self, message: str, *, error: str = "invalid_token") -> None:
        super().__init__(message)
        self.error = error


class InsufficientScope(GatewayError):
    status_code = 403
    issue_code = "forbidden"


class Forbidden(GatewayError):
    status_code = 403
    issue_code = "forbidden"


class NotFound(GatewayError):
    status_code = 404
    issue_code = "not-found"


class Conflict(GatewayError):
    status_code = 409
    issue_code = "conflict"


class PreconditionFailed(GatewayError):
    status_code = 412
    issue_code = "conflict"


class BusinessRuleViolation(GatewayError):
    status_code = 422
    issue_code = "business-rule"


class RateLimited(GatewayError):
    """429 (RFC 6585 §4): the client sent more than its ``rate_limit`` allows."""

    status_code = 429
    issue_code = "throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(GatewayError):
    status_code = 503
    issue_code = "transient"
    retry_after = 1
