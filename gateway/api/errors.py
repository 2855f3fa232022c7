"""One handler renders every error: an OperationOutcome, never a stack trace.

http://hl7.org/fhir/R4/operationoutcome.html. A 401 also carries
``WWW-Authenticate: Bearer error="..."`` (RFC 6750 §3).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.api.allow import allowed_methods
from gateway.errors import (
    AuthenticationRequired,
    GatewayError,
    InsufficientScope,
    InvalidInput,
    Issue,
    MalformedRequest,
)
from gateway.intake.validate import expression
from gateway.json import FhirJSONResponse
from gateway.logging import get_logger

log = get_logger("gateway.api")

_HTTP_ISSUE_CODES = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


def operation_outcome(issues: list[Issue], default_code: str) -> dict[str, Any]:
    rendered = []
    for issue in issues:
        item: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code or default_code,
            "diagnostics": issue.diagnostics,
        }
        if issue.expression:
            item["expression"] = [issue.expression]
        rendered.append(item)
    return {"resourceType": "OperationOutcome", "issue": rendered}


def error_response(error: GatewayError) -> Response:
    headers = {}
    if isinstance(error, AuthenticationRequired):
        headers["WWW-Authenticate"] = f'Bearer realm="gateway", error="{error.error}"'
    elif isinstance(error, InsufficientScope):
        headers["WWW-Authenticate"] = 'Bearer realm="gateway", error="insufficient_scope"'
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return FhirJSONResponse(
        operation_outcome(error.issues, error.issue_code),
        status_code=error.status_code,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(_request: Request, exc: GatewayError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error_response(MalformedRequest("The body is not valid JSON."))
        issues = [
            Issue(
                f"{expression(e['loc'][1:] or e['loc'])}: {e['msg']}",
                expression=expression(e["loc"][1:] or e["loc"]),
            )
            for e in exc.errors()
        ]
        return error_response(InvalidInput("The request is not valid.", issues=issues))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_ISSUE_CODES.get(exc.status_code, "processing")
        outcome = operation_outcome([Issue(str(exc.detail))], code)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request.app, request.url.path)
        return FhirJSONResponse(outcome, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.error("request.failed", error_type=type(exc).__name__)
        outcome = operation_outcome([Issue("An internal error occurred.")], "exception")
        return FhirJSONResponse(outcome, status_code=500)
