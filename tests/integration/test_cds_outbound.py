"""The CDS service's outside calls over real sockets: an EHR's JWK Set at its configured
``jku`` (cached no longer than ``Cache-Control`` allows), and the Patient read from a real
FHIR server (sekmet) when the EHR sends ``fhirServer`` instead of the prefetch. Both go
through the SSRF-guarded outbound client."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cds_client import SERVICE_PATH, CdsClient, es384_key, patient_view
from harness import PUBLIC_URL, Harness, base_config, running_gateway, triage
from joserfc.jwk import ECKey
from sekmet import Ehr

pytestmark = pytest.mark.integration
AUD = PUBLIC_URL + SERVICE_PATH
SYSTEM = "https://app.example.org/patients"
LOCAL = {"allow_private": ["127.0.0.0/8"]}


class JwksServer:
    """Serves one JWK Set at ``/jwks`` with a chosen ``Cache-Control``; counts fetches."""

    def __init__(self, jwks: dict[str, Any], cache_control: str) -> None:
        self.jwks, self.cache_control, self.hits = jwks, cache_control, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                server.hits += 1
                body = json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", server.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"


@pytest.fixture
def jwks_server() -> Iterator[Any]:
    servers: list[JwksServer] = []

    def start(jwks: dict[str, Any], cache_control: str = "max-age=300") -> JwksServer:
        server = JwksServer(jwks, cache_control)
        threading.Thread(target=server.httpd.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.httpd.shutdown()
        server.httpd.server_close()


def _config(cds_clients: list[dict[str, Any]], outbound: dict[str, Any] | None = LOCAL) -> Any:
    def build(keys: dict[str, ECKey]) -> dict[str, Any]:
        extra: dict[str, Any] = {"cds_clients": cds_clients}
        if outbound is not None:
            extra["outbound"] = outbound
        return base_config(keys, **extra)

    return build


async def _call(h: Harness, body: dict[str, Any], token: str) -> httpx.Response:
    return await h.client.post(
        SERVICE_PATH, json=body, headers={"Authorization": f"Bearer {token}"}
    )


async def test_keys_from_the_configured_jku_only(tmp_path: Path, jwks_server: Any) -> None:
    ehr = CdsClient("https://jku-ehr.example.org", es384_key("jku-1"), "ES384")
    server = jwks_server(ehr.jwks)
    other = jwks_server(ehr.jwks)  # the same keys, at a URL nobody configured
    config = _config([{"iss": ehr.iss, "jku": server.url}])
    async with running_gateway(tmp_path, config=config) as h:
        named = await _call(h, patient_view(None), ehr.token(AUD, header={"jku": server.url}))
        assert named.status_code == 200, named.text
        out_of_band = await _call(h, patient_view(None), ehr.token(AUD))
        assert out_of_band.status_code == 200
        foreign = await _call(h, patient_view(None), ehr.token(AUD, header={"jku": other.url}))
        assert foreign.status_code == 401
    assert other.hits == 0


@pytest.mark.parametrize(("cache_control", "fetches"), [("max-age=300", 1), ("no-store", 3)])
async def test_a_jwk_set_is_cached_no_longer_than_cache_control_allows(
    tmp_path: Path, jwks_server: Any, cache_control: str, fetches: int
) -> None:
    ehr = CdsClient("https://cache-ehr.example.org", es384_key("cache-1"), "ES384")
    server = jwks_server(ehr.jwks, cache_control)
    async with running_gateway(
        tmp_path, config=_config([{"iss": ehr.iss, "jku": server.url}])
    ) as h:
        for _ in range(3):
            assert (await _call(h, patient_view(None), ehr.token(AUD))).status_code == 200
    assert server.hits == fetches


async def test_a_jku_on_a_private_address_is_refused_unless_allowed(
    tmp_path: Path, jwks_server: Any
) -> None:
    ehr = CdsClient("https://guarded-ehr.example.org", es384_key("guard-1"), "ES384")
    server = jwks_server(ehr.jwks)
    config = _config([{"iss": ehr.iss, "jku": server.url}], outbound=None)
    async with running_gateway(tmp_path, config=config) as h:
        assert (await _call(h, patient_view(None), ehr.token(AUD))).status_code == 401
    assert server.hits == 0


EHR_CLIENT = CdsClient("https://sekmet-ehr.example.org", es384_key("sekmet-ehr-1"), "ES384")


def _patient_on(ehr: Ehr, value: str) -> str:
    """Creates the person in the EHR's own FHIR server; returns the EHR's Patient id."""
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if ehr.smart is not None:
        headers["Authorization"] = f"Bearer {ehr.token()}"
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM, "value": value}],
        "name": [{"family": "Lee", "given": ["Sam"]}],
    }
    response = httpx.post(f"{ehr.base_url}/Patient", json=patient, headers=headers, timeout=10)
    response.raise_for_status()
    return str(response.json()["id"])


async def _referral_for(h: Harness, value: str) -> str:
    body = triage("imminent-risk")
    body["triage_id"] = f"t-{value}"
    body["patient"]["identifiers"] = [{"system": SYSTEM, "value": value}]
    response = await h.submit(body)
    assert response.status_code == 202, response.text
    return str(response.json()["referral_id"])


async def test_without_prefetch_the_patient_is_read_from_fhir_server(
    tmp_path: Path, ehr: Ehr
) -> None:
    value = f"p-{uuid.uuid4().hex[:10]}"
    ehr_id = _patient_on(ehr, value)
    config = _config([{"iss": EHR_CLIENT.iss, "jwks": EHR_CLIENT.jwks}])
    async with running_gateway(tmp_path, config=config) as h:
        await _referral_for(h, value)
        body = patient_view(False, patient_id=ehr_id, fhir_server=ehr.base_url, access_token="x")
        response = await _call(h, body, EHR_CLIENT.token(AUD))
        assert response.status_code == 200, response.text
        [card] = response.json()["cards"]
        assert card["indicator"] == "critical"
        missing = patient_view(False, patient_id="no-such-patient", fhir_server=ehr.base_url)
        assert (await _call(h, missing, EHR_CLIENT.token(AUD))).status_code == 412


async def test_the_fhir_authorization_token_is_what_opens_a_smart_ehr(
    tmp_path: Path, smart_ehr: Ehr
) -> None:
    value = f"p-{uuid.uuid4().hex[:10]}"
    ehr_id = _patient_on(smart_ehr, value)
    config = _config([{"iss": EHR_CLIENT.iss, "jwks": EHR_CLIENT.jwks}])
    async with running_gateway(tmp_path, config=config) as h:
        await _referral_for(h, value)
        good = patient_view(
            False, patient_id=ehr_id, fhir_server=smart_ehr.base_url, access_token=smart_ehr.token()
        )
        response = await _call(h, good, EHR_CLIENT.token(AUD))
        assert response.status_code == 200, response.text
        assert len(response.json()["cards"]) == 1
        bad = patient_view(
            False, patient_id=ehr_id, fhir_server=smart_ehr.base_url, access_token="not-a-token"
        )
        assert (await _call(h, bad, EHR_CLIENT.token(AUD))).status_code == 412


async def test_a_fhir_server_on_a_private_address_is_not_called_unless_allowed(
    tmp_path: Path, ehr: Ehr
) -> None:
    value = f"p-{uuid.uuid4().hex[:10]}"
    ehr_id = _patient_on(ehr, value)
    config = _config([{"iss": EHR_CLIENT.iss, "jwks": EHR_CLIENT.jwks}], outbound=None)
    async with running_gateway(tmp_path, config=config) as h:
        await _referral_for(h, value)
        body = patient_view(False, patient_id=ehr_id, fhir_server=ehr.base_url, access_token="x")
        assert (await _call(h, body, EHR_CLIENT.token(AUD))).status_code == 412
