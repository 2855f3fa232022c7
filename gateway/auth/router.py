"""HTTP face of the authorization server: SMART discovery, token endpoint, JWKS.

Discovery is served at ``/.well-known/smart-configuration`` and at the FHIR base
(``/fhir/.well-known/smart-configuration``), where SMART clients look for it.

Errors are the OAuth 2.0 JSON body (RFC 6749 §5.2) with ``Cache-Control: no-store``;
``invalid_client`` answers 401 with a ``WWW-Authenticate`` challenge, as §5.2 allows.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.auth.errors import OAuthError
from gateway.auth.token_endpoint import (
    ASSERTION_TYPE,
    FORM_MEDIA_TYPE,
    GRANT_TYPE,
    TOKEN_PARAMETERS,
    TokenService,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_TOKEN_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": list(TOKEN_PARAMETERS),
                    "properties": {
                        "grant_type": {"type": "string", "enum": [GRANT_TYPE]},
                        "client_assertion_type": {"type": "string", "enum": [ASSERTION_TYPE]},
                        "client_assertion": {"type": "string", "minLength": 1},
                        "scope": {"type": "string", "minLength": 1},
                    },
                }
            }
        },
    }
}


def oauth_error_response(error: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if error.status_code == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status_code,
        headers=headers,
    )


def build_auth_router(service: TokenService) -> APIRouter:
    router = APIRouter(tags=["authorization"])

    @router.get("/.well-known/smart-configuration")
    @router.get("/fhir/.well-known/smart-configuration")
    async def smart_configuration() -> dict[str, Any]:
        """SMART discovery, at the root and at the FHIR base (SMART App Launch 2.x §2.1)."""
        return service.smart_configuration()

    @router.post("/auth/token", openapi_extra=_TOKEN_REQUEST_BODY)
    async def token(request: Request) -> JSONResponse:
        try:
            issued = await service.exchange(
                content_type=request.headers.get("content-type"), body=await request.body()
            )
        except OAuthError as error:
            return oauth_error_response(error)
        return JSONResponse(
            {
                "access_token": issued.access_token,
                "token_type": "bearer",
                "expires_in": issued.expires_in,
                "scope": issued.scope,
            },
            headers=NO_STORE,
        )

    @router.get("/auth/jwks")
    async def jwks() -> dict[str, Any]:
        return await service.current_jwks()

    return router
