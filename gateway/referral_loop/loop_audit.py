"""AuditEvents of the closed loop, BALP-shaped (IHE Basic Audit Log Patterns 1.1):

- a requester's or recipient's Task update: audit-event-type ``rest``, subtype
  restful-interaction ``update`` or ``patch``, action U, the client as requestor
  (as ``IHE.BasicAudit.Update`` for a RESTful update);
- a stall alert: DCM 110100 "Application Activity", subtype
  ``urn:referral-gateway:loop-event#referral-stalled``, action E, outcome 4.

Pure builders; ``gateway.audit.recorder.append_entry`` chains them.
"""

from __future__ import annotations

from typing import Any

from gateway.audit.balp import (
    AUDIT_EVENT_TYPE,
    DCM,
    RESTFUL_INTERACTION,
    Party,
    data_entity,
    patient_entity,
)
from gateway.audit.recorder import client_party, patient_ref

LOOP_EVENTS = "urn:referral-gateway:loop-event"


def _referral(referral_id: str) -> dict[str, Any]:
    return data_entity(
        {"identifier": {"system": "urn:referral-gateway:referral", "value": referral_id}}
    )


def task_update_event(
    gateway: Party,
    *,
    client_id: str,
    interaction: str,
    referral_id: str,
    task_id: str,
    patient_id: str,
    status: str,
    at: str,
) -> dict[str, Any]:
    """``client_id`` changed Task ``task_id`` (now ``status``) by ``update`` or ``patch``."""
    client = client_party(client_id)
    return {
        "resourceType": "AuditEvent",
        "type": {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "Restful Operation"},
        "subtype": [{"system": RESTFUL_INTERACTION, "code": interaction}],
        "action": "U",
        "recorded": at,
        "outcome": "0",
        "outcomeDesc": f"Task status is now '{status}'",
        "agent": [
            {"who": client.who, "requestor": True},
            {"who": gateway.who, "requestor": False},
        ],
        "source": {"observer": gateway.who},
        "entity": [
            patient_entity(patient_ref(patient_id)),
            _referral(referral_id),
            data_entity({"reference": f"Task/{task_id}"}),
        ],
    }


def stall_event(
    gateway: Party, *, referral_id: str, task_id: str, destination: str, patient_id: str, at: str
) -> dict[str, Any]:
    """The stall alert for Task ``task_id`` of ``destination``."""
    return {
        "resourceType": "AuditEvent",
        "type": {"system": DCM, "code": "110100", "display": "Application Activity"},
        "subtype": [{"system": LOOP_EVENTS, "code": "referral-stalled"}],
        "action": "E",
        "recorded": at,
        "outcome": "4",
        "outcomeDesc": f"referral not accepted by '{destination}' within its window",
        "agent": [{"who": gateway.who, "requestor": False}],
        "source": {"observer": gateway.who},
        "entity": [
            patient_entity(patient_ref(patient_id)),
            _referral(referral_id),
            data_entity({"reference": f"Task/{task_id}"}),
        ],
    }
