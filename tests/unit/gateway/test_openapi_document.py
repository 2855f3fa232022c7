"""The committed openapi/openapi.json is exactly what the app serves (``make openapi``)."""

from __future__ import annotations

from pathlib import Path

from gateway.openapi_export import openapi_document, render

COMMITTED = Path(__file__).resolve().parents[3] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    assert COMMITTED.read_text() == render(openapi_document()), (
        "openapi/openapi.json is stale: run `make openapi`"
    )


def test_every_contract_endpoint_is_documented() -> None:
    paths = openapi_document()["paths"]
    for path, method in [
        ("/triage-results", "post"),
        ("/referrals/{referral_id}", "get"),
        ("/.well-known/smart-configuration", "get"),
        ("/auth/token", "post"),
        ("/fhir/metadata", "get"),
        ("/fhir/Consent", "post"),
        ("/consents/{consent_id}/summary", "get"),
        ("/patients/{identifier}/disclosures", "get"),
        ("/patients/{identifier}/export", "get"),
        ("/patients/{identifier}", "delete"),
        ("/metrics", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ]:
        assert method in paths[path], f"{method.upper()} {path} missing"
