"""The CDS Hooks routes tell the truth in openapi.json: statuses, media type, bodies."""

from __future__ import annotations

from gateway.openapi_export import openapi_document

EXPECTED = {
    ("/cds-services", "get"): {"200", "401"},
    ("/cds-services/{service_id}", "post"): {"200", "400", "401", "404", "412", "413"},
    ("/cds-services/{service_id}/feedback", "post"): {"200", "400", "401", "404", "413"},
}


def test_each_cds_route_declares_its_statuses_as_application_json() -> None:
    paths = openapi_document()["paths"]
    for (path, method), statuses in EXPECTED.items():
        operation = paths[path][method]
        assert statuses <= set(operation["responses"]), (path, method)
        for status in statuses:
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/json"], (path, method, status)
        if method == "post":
            assert "application/json" in operation["requestBody"]["content"]
