"""Per-destination Tasks (HL7 SDOH Clinical Care, Task for referral management).

The mapping yields one Task template (no owner). Each destination gets its own
Task, owned by that destination, with a deterministic id, so the closed loop is
tracked per recipient: ``Task.owner`` names the destination's Organization.
"""

from __future__ import annotations

from typing import Any

from gateway.store.fhir_store import rewrite_references
from mappings.ids import resource_uuid

DESTINATION_SYSTEM = "urn:referral-gateway:destination"
REMOTE_TASK_SYSTEM = "urn:referral-gateway:remote-task"
"""The identifier system of the id a destination gave its copy of the Task."""


def owner_reference(destination: str) -> str:
    return f"Organization/{destination}"


def destination_organization(destination: str, destination_type: str) -> dict[str, Any]:
    """The Organization a destination is known as on the gateway's FHIR surface."""
    return {
        "resourceType": "Organization",
        "id": destination,
        "identifier": [{"system": DESTINATION_SYSTEM, "value": destination}],
        "active": True,
        "name": destination,
        "type": [{"text": f"referral destination ({destination_type})"}],
    }


def destination_task(
    template: dict[str, Any], referral_id: str, destination: str, references: dict[str, str]
) -> dict[str, Any]:
    task_id = resource_uuid(referral_id, f"task/{destination}")
    task = rewrite_references(template, references)
    return {
        **task,
        "id": task_id,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{task_id}"}],
        "owner": {
            "reference": owner_reference(destination),
            "identifier": {"system": DESTINATION_SYSTEM, "value": destination},
            "display": destination,
        },
    }


def with_destination_task(bundle: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """Put the destination's own Task in the Bundle in place of the mapping's generic one.

    One Task per referral reaches the destination. It keeps the generic entry's
    ``fullUrl``, so references to it still resolve; its owner travels as an identifier,
    not a local reference; its conditional create is keyed on its own identifier.
    """
    body = {k: v for k, v in task.items() if k != "id"}
    meta = {k: v for k, v in (task.get("meta") or {}).items() if k in {"profile", "security"}}
    body.pop("meta", None)
    if meta:
        body = {"resourceType": body.pop("resourceType"), "meta": meta, **body}
    owner = task.get("owner") or {}
    body["owner"] = {k: v for k, v in owner.items() if k != "reference"} or {
        "identifier": {"system": DESTINATION_SYSTEM, "value": "unknown"}
    }
    identifier = task["identifier"][0]
    entries = bundle.get("entry", [])
    generic = next(
        (e for e in entries if e["resource"]["resourceType"] == "Task"),
        None,
    )
    full_url = generic["fullUrl"] if generic else f"urn:uuid:{task['id']}"
    local_refs = {
        f"{e['resource']['resourceType']}/{e['fullUrl'].removeprefix('urn:uuid:')}": e["fullUrl"]
        for e in entries
    }
    local_refs[f"Task/{task['id']}"] = full_url
    body = rewrite_references(body, local_refs)
    entry = {
        "fullUrl": full_url,
        "resource": body,
        "request": {
            "method": "POST",
            "url": "Task",
            "ifNoneExist": f"identifier={identifier['system']}|{identifier['value']}",
        },
    }
    if generic is None:
        return {**bundle, "entry": [*entries, entry]}
    return {**bundle, "entry": [entry if e is generic else e for e in entries]}
