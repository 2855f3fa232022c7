"""Checks shared by the mapping tests: the official R4 JSON schema, references, layout."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

from mappings.triage_to_fhir import MappingContext

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SCHEMA_PATH = FIXTURES / "schema" / "fhir.schema.json"
CLIENT_ID = "demo-triage-app"
RECEIVED_AT = "2026-11-27T12:30:00Z"


def context_for(name: str) -> MappingContext:
    """The fixed context a golden fixture is mapped with (its referral id from its name)."""
    referral_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-referral/{name}"))
    return MappingContext(referral_id=referral_id, client_id=CLIENT_ID, received_at=RECEIVED_AT)


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text("utf-8"))
    return schema


@cache
def _validator(definition: str) -> Draft6Validator:
    """A validator for one definition of the official schema (compiled once per session)."""
    return Draft6Validator(
        {"$ref": f"#/definitions/{definition}", "definitions": _schema()["definitions"]}
    )


def schema_problems(bundle: dict[str, Any]) -> list[str]:
    """Problems against fhir.schema.json: each resource by its type, and the Bundle shell."""
    problems = []
    entries = bundle.get("entry", [])
    shell = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]}
    for error in _validator("Bundle").iter_errors(shell):
        problems.append(f"Bundle {list(error.absolute_path)}: {error.message}")
    for index, entry in enumerate(entries):
        resource = entry["resource"]
        for error in _validator(resource["resourceType"]).iter_errors(resource):
            problems.append(f"entry[{index}] {list(error.absolute_path)}: {error.message[:200]}")
    return problems


def whole_bundle_schema_problems(bundle: dict[str, Any]) -> list[str]:
    """Validate the Bundle against the schema's root (resources via its ResourceList oneOf)."""
    return [error.message[:200] for error in _validator("Bundle").iter_errors(bundle)]


def references(node: object) -> Iterator[str]:
    """Every ``reference`` string anywhere inside ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def resources_of(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def by_full_url(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def layout_problems(bundle: dict[str, Any]) -> list[str]:
    """The Bundle shape the store and delivery rely on; empty when it holds."""
    problems = []
    if bundle.get("type") != "transaction":
        problems.append("type is not transaction")
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    if len(set(full_urls)) != len(full_urls):
        problems.append("duplicate fullUrl")
    for entry in bundle["entry"]:
        resource, request = entry["resource"], entry["request"]
        name = f"{resource['resourceType']} {entry['fullUrl']}"
        if not entry["fullUrl"].startswith("urn:uuid:"):
            problems.append(f"{name}: fullUrl is not a urn:uuid")
        if "id" in resource:
            problems.append(f"{name}: carries an id")
        if request["method"] != "POST" or request["url"] != resource["resourceType"]:
            problems.append(f"{name}: request is not POST <Type>")
        identifier = resource.get("identifier")
        if isinstance(identifier, list):
            identifier = identifier[0] if identifier else None
        if resource["resourceType"] == "Provenance":
            if "ifNoneExist" in request:
                problems.append(f"{name}: Provenance has no identifier to match on")
            continue
        if identifier is None or not request.get("ifNoneExist", "").startswith("identifier="):
            problems.append(f"{name}: no conditional create on an identifier")
    known = set(full_urls)
    for reference in references(bundle):
        if reference not in known:
            problems.append(f"unresolved reference {reference}")
    return problems
