"""Check a Bundle against the fhir.resources R4B models (off the request path).

Every entry's resource is parsed with its model class; the Bundle shell (type, fullUrl,
request) is parsed as a Bundle with the resources left out. Problems come back as plain
strings naming the entry; an empty list means the Bundle is valid.

The R4B models check structure, types and formats but not required code bindings (a
``Task.status`` outside its value set passes); what leaves the gateway is also checked
against the official R4 JSON schema in the test suite, which does.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from mappings.fhir_models import model_class


def validate_bundle(bundle: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    entries = bundle.get("entry") or []
    shell = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]}
    problems.extend(f"Bundle: {message}" for message in _problems("Bundle", shell))
    for index, bundle_entry in enumerate(entries):
        resource = bundle_entry.get("resource")
        if not isinstance(resource, dict):
            problems.append(f"entry[{index}]: no resource")
            continue
        resource_type = str(resource.get("resourceType"))
        problems.extend(
            f"entry[{index}] {resource_type}: {message}"
            for message in _problems(resource_type, resource)
        )
    return problems


def _problems(resource_type: str, resource: dict[str, Any]) -> list[str]:
    try:
        cls = model_class(resource_type)
    except KeyError:
        return [f"unknown resourceType {resource_type!r}"]
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        return [
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
    return []


def validate_resource(resource: dict[str, Any]) -> list[str]:
    """Problems with one resource against the R4B models (empty = valid)."""
    return _problems(str(resource.get("resourceType")), resource)
