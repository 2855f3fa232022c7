"""The SMART client towards EHRs signs with the current `ehr-client` key: seeded from
the destination's key file, rotated by `gateway keys rotate --which ehr-client`, and
verifiable with what `GET /auth/ehr-client-jwks` publishes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from harness import base_config, new_key, running_gateway
from joserfc import jws
from joserfc.jwk import ECKey, KeySet

from connectors.smart_backend import SmartBackendAuth, SmartBackendCredentials
from gateway.auth.keyring import rotate
from gateway.destinations.factories import ehr_key_source, fhir_client
from gateway.store.signing_keys import DatabaseKeyStore

TOKEN_URL = "https://ehr.example.org/auth/token"


def _with_ehr(key_file: Path) -> Any:
    def build(keys: dict[str, ECKey]) -> dict[str, Any]:
        config = base_config(keys)
        config["destinations"].append(
            {
                "name": "county-ehr",
                "type": "fhir",
                "base_url": "https://ehr.example.org/fhir",
                "auth": {
                    "type": "smart-backend",
                    "token_url": TOKEN_URL,
                    "client_id": "gateway",
                    "private_key_file": str(key_file),
                    "kid": "gw-ehr-1",
                    "alg": "ES384",
                    "scope": "system/Task.cru",
                },
            }
        )
        return config

    return build


class TokenEndpoint:
    def __init__(self) -> None:
        self.assertions: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.assertions.append(form["client_assertion"])
        token = f"t{len(self.assertions)}"
        return httpx.Response(200, json={"access_token": token, "token_type": "Bearer"})

    def kids(self) -> list[str]:
        return [str(jws.extract_compact(a.encode()).protected["kid"]) for a in self.assertions]


async def test_assertions_are_signed_with_the_current_ehr_client_key(tmp_path: Path) -> None:
    seed = tmp_path / "ehr-client.pem"
    seed.write_bytes(new_key("x").as_pem(private=True))
    async with running_gateway(tmp_path, config=_with_ehr(seed)) as h:
        keyring = h.gateway.ehr_keyring
        assert keyring is not None
        endpoint = TokenEndpoint()

        def auth() -> SmartBackendAuth:
            return SmartBackendAuth(
                SmartBackendCredentials(
                    "gateway", seed.read_bytes(), "gw-ehr-1", "ES384", "s", TOKEN_URL
                ),
                base_url="https://ehr.example.org/fhir",
                http=httpx.AsyncClient(transport=httpx.MockTransport(endpoint)),
                key_source=ehr_key_source(keyring),
            )

        await auth().access_token()
        await rotate(
            DatabaseKeyStore(h.gateway.engine, h.gateway.clock),
            "ehr-client",
            now=datetime.now(UTC),
            kid="gw-ehr-2",
        )
        await keyring.refresh()
        await auth().access_token()
        assert endpoint.kids() == ["gw-ehr-1", "gw-ehr-2"]
        published = KeySet.import_key_set(
            (await h.client.get("/auth/ehr-client-jwks")).json()  # type: ignore[arg-type]
        )
        for assertion in endpoint.assertions:  # both verify: the old key is still published
            jws.deserialize_compact(assertion, published, algorithms=["ES384"])
        built = fhir_client(
            h.gateway.config.destination("county-ehr"),  # type: ignore[arg-type]
            h.gateway.config,
            ehr_key_source(keyring),
        )
        assert isinstance(built.auth, SmartBackendAuth)
        await built.aclose()
