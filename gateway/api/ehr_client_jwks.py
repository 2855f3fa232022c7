"""``GET /auth/ehr-client-jwks``: the public keys the gateway signs its client
assertions to EHRs with (RFC 7517 §5 JWK Set; SMART client-confidential-asymmetric.md
§"Registering a client": an EHR that registered this URL as the gateway's jwks_uri
follows ``gateway keys rotate --which ehr-client`` without anyone re-registering)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.auth.keyring import Keyring

JWKS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The JWK Set: the signing key and every retired one still valid.",
        "content": {"application/json": {}},
    }
}


def build_ehr_jwks_router(keyring: Keyring | None) -> APIRouter:
    router = APIRouter()

    @router.get("/auth/ehr-client-jwks", responses=JWKS_RESPONSE, tags=["authorization"])
    async def ehr_client_jwks() -> dict[str, Any]:
        if keyring is None:
            return {"keys": []}
        return await keyring.current_jwks()  # empty until an EHR destination seeds one

    return router
