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
