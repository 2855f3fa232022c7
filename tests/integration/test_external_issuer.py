"""Tokens from an external authorization server (``issuers:``): a real, independent
OAuth server (oidc-provider) issues them the client_credentials + private_key_jwt
way, and the gateway verifies them against the server's JWKS with its scope rules."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness import base_config, new_key, public_jwks, running_gateway, triage
from joserfc import jwt
from joserfc.jwk import ECKey
from oidc import OidcProvider

pytestmark = pytest.mark.integration

SUBMIT_AND_READ = "system/ServiceRequest.c system/ServiceRequest.r"


def with_issuer(
    provider: OidcProvider, same_name_key: ECKey
) -> Callable[[dict[str, ECKey]], dict[str, Any]]:
    """The harness config plus the provider as an issuer, and a *local* client that
    has the same client id as the provider's client."""

    def build(keys: dict[str, ECKey]) -> dict[str, Any]:
        config = base_config(
            keys,
            issuers=[provider.issuer_config()],
            outbound={"allow_private": ["127.0.0.0/8"]},
        )
        config["clients"].append(
            {"client_id": provider.client_id, "jwks": public_jwks(same_name_key),
             "scopes": ["system/ServiceRequest.r"]}
        )
        return config

    return build


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unpadded_b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def with_flipped_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(unpadded_b64decode(signature))
    raw[0] ^= 0x01
    return ".".join([header, payload, base64.urlsafe_b64encode(raw).rstrip(b"=").decode()])


def forged_like(token: str) -> str:
    """The same header (``kid`` included) and claims, signed by a key the provider never had."""
    header, payload, _ = token.split(".")
    return jwt.encode(
        json.loads(unpadded_b64decode(header)),
        json.loads(unpadded_b64decode(payload)),
        ECKey.generate_key("P-384"),
        algorithms=["ES384"],
    )


async def test_provider_token_submits_and_reads_only_its_own_referral(
    oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    same_name_key = new_key("same-name-1")
    config = with_issuer(oidc_provider, same_name_key)
    async with running_gateway(tmp_path, config=config) as gateway:
        gateway.keys[oidc_provider.client_id] = same_name_key
        token = await oidc_provider.token(SUBMIT_AND_READ, alg="ES384")

        submitted = await gateway.client.post(
            "/triage-results", json=triage(), headers=bearer(token)
        )
        assert submitted.status_code == 202, submitted.text
        path = f"/referrals/{submitted.json()['referral_id']}"

        read_token = await oidc_provider.token("system/ServiceRequest.r", alg="RS384")
        read = await gateway.client.get(path, headers=bearer(read_token))
        assert read.status_code == 200, read.text
        assert (await gateway.get(path, client_id="app-b")).status_code == 404
        same_name = await gateway.auth(oidc_provider.client_id, "system/ServiceRequest.r")
        assert (await gateway.client.get(path, headers=same_name)).status_code == 404
        assert (await gateway.get(path, client_id="operator")).status_code == 200


async def test_provider_token_without_the_scope_is_forbidden(
    oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    config = with_issuer(oidc_provider, new_key("same-name-1"))
    async with running_gateway(tmp_path, config=config) as gateway:
        token = await oidc_provider.token("system/ServiceRequest.r")

        response = await gateway.client.post(
            "/triage-results", json=triage(), headers=bearer(token)
        )

        assert response.status_code == 403, response.text
        assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("spoil", [with_flipped_signature, forged_like])
async def test_token_not_signed_by_the_provider_is_refused(
    oidc_provider: OidcProvider, tmp_path: Path, spoil: Callable[[str], str]
) -> None:
    config = with_issuer(oidc_provider, new_key("same-name-1"))
    async with running_gateway(tmp_path, config=config) as gateway:
        token = await oidc_provider.token(SUBMIT_AND_READ)
        accepted = await gateway.client.post(
            "/triage-results", json=triage(), headers=bearer(token)
        )
        assert accepted.status_code == 202, accepted.text

        response = await gateway.client.post(
            "/triage-results", json=triage(), headers=bearer(spoil(token))
        )

        assert response.status_code == 401, response.text
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge
