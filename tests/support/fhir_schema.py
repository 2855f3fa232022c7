"""The official FHIR R4 JSON schema (vendored under tests/fixtures/schema), one validator
per resource type, compiled once per session."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "schema" / "fhir.schema.json"


@cache
def _definitions() -> dict[str, Any]:
    definitions: dict[str, Any] = json.loads(SCHEMA_PATH.read_text("utf-8"))["definitions"]
    # The vendored file is the 4.0.0 schema; the 4.0.1 technical correction added "4.0.1"
    # to the FHIRVersion codes, and 4.0.1 is what the gateway implements and declares.
    version = definitions["CapabilityStatement"]["properties"]["fhirVersion"]
    version["enum"] = [*version["enum"], "4.0.1"]
    return definitions


@cache
def _validator(resource_type: str) -> Draft6Validator:
    return Draft6Validator(
        {"$ref": f"#/definitions/{resource_type}", "definitions": _definitions()}
    )


def problems(resource: dict[str, Any]) -> list[str]:
    """Schema problems of a resource and, for a Bundle, of every resource it holds."""
    found = [
        f"{resource.get('resourceType')}: {error.json_path}: {error.message[:200]}"
        for error in _validator(str(resource.get("resourceType"))).iter_errors(resource)
    ]
    for entry in resource.get("entry", []) if resource.get("resourceType") == "Bundle" else []:
        if isinstance(entry.get("resource"), dict):
            found += problems(entry["resource"])
    return found
