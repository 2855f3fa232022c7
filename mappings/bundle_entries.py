"""Transaction Bundle entries (FHIR R4 §3.1.0.11 transactions, §2.21.0.16 conditional create).

Every entry is a POST with ``fullUrl = urn:uuid:<uuid>`` and no ``resource.id``;
references between entries use those fullUrls, and ``ifNoneExist`` on the resource's
business identifier makes a replayed Bundle match what it created the first time.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mappings.codes import security_labels, system

# Characters RFC 3986 allows unencoded in a query value that FHIR search gives no meaning.
_SAFE = ":/@"


def urn(resource_uuid: str) -> str:
    return f"urn:uuid:{resource_uuid}"


def reference(resource_uuid: str) -> dict[str, str]:
    return {"reference": urn(resource_uuid)}


def uuid_identifier(resource_uuid: str) -> dict[str, str]:
    """The business identifier of a resource that has no natural one: its own urn:uuid."""
    return {"system": system("uri"), "value": urn(resource_uuid)}


def identifier_query(identifier: dict[str, str]) -> str:
    """The ``identifier=<system>|<value>`` search, each part percent-encoded."""
    system_part = quote(identifier["system"], safe=_SAFE)
    return f"identifier={system_part}|{quote(identifier['value'], safe=_SAFE)}"


def labelled(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` with the security labels its type carries (none: unchanged)."""
    labels = security_labels(resource["resourceType"])
    if not labels:
        return resource
    meta = {**resource.get("meta", {}), "security": labels}
    rest = {key: value for key, value in resource.items() if key not in {"resourceType", "meta"}}
    return {"resourceType": resource["resourceType"], "meta": meta, **rest}


def entry(resource_uuid: str, resource: dict[str, Any]) -> dict[str, Any]:
    """A conditional-create entry; ifNoneExist uses the resource's first identifier.

    A resource without an identifier element (Provenance in R4) is a plain create.
    """
    request: dict[str, str] = {"method": "POST", "url": resource["resourceType"]}
    identifier = resource.get("identifier")
    if isinstance(identifier, list):
        identifier = identifier[0] if identifier else None
    if identifier:
        request["ifNoneExist"] = identifier_query(identifier)
    return {"fullUrl": urn(resource_uuid), "resource": labelled(resource), "request": request}
