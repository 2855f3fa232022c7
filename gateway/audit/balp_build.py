"""The one AuditEvent builder and its parts (agents, entities), for the rows of ``KINDS``.

FHIR R4 AuditEvent (http://hl7.org/fhir/R4/auditevent.html) in the shape of IHE BALP 1.1
(https://profiles.ihe.net/ITI/BALP/); the codes are in ``gateway.audit.balp_kinds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.audit.balp_kinds import (
    ACT_REASON,
    APPLICATION_SERVER,
    DOMAIN_RESOURCE_ROLE,
    KINDS,
    PATIENT_ROLE,
    PERSON,
    ROLES,
    SUCCESS,
    SYSTEM_OBJECT,
    Code,
)


@dataclass(frozen=True)
class Party:
    """An agent of an audited event: a FHIR Reference and, if known, its network address."""

    who: dict[str, Any]
    network: str | None = None


def network(address: str) -> dict[str, Any]:
    if "://" in address:
        kind = "5"
    elif address.replace(".", "").isdigit() or ":" in address:
        kind = "2"
    else:
        kind = "1"
    return {"address": address, "type": kind}


def agent(role: str, party: Party, *, requestor: bool = False) -> dict[str, Any]:
    """An agent playing ``role`` (a row of ``ROLES``)."""
    built: dict[str, Any] = {
        "type": {"coding": [ROLES[role].coding()]},
        "who": party.who,
        "requestor": requestor,
    }
    if party.network:
        built["network"] = network(party.network)
    return built


def entity(kind: Code, role: Code | None = None, **fields: Any) -> dict[str, Any]:
    """An entity: ``what`` (when given) first, then its type and role, then ``fields``."""
    built: dict[str, Any] = {"what": fields.pop("what")} if "what" in fields else {}
    built["type"] = kind.coding()
    if role is not None:
        built["role"] = role.coding()
    return {**built, **fields}


def patient_entity(patient: dict[str, Any]) -> dict[str, Any]:
    return entity(PERSON, PATIENT_ROLE, what=patient)


def data_entity(what: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return entity(SYSTEM_OBJECT, DOMAIN_RESOURCE_ROLE, what=what, **extra)


def detail(kind: str, value: str) -> dict[str, str]:
    return {"type": kind, "valueString": value}


def event(
    kind: str,
    *,
    recorded: str,
    gateway: Party,
    agents: list[dict[str, Any]],
    entities: list[dict[str, Any]],
    outcome: str = SUCCESS,
    purpose: str | None = None,
    outcome_desc: str | None = None,
) -> dict[str, Any]:
    """The one AuditEvent builder: ``kind`` is a row of ``KINDS``."""
    row = KINDS[kind]
    built: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": row.type.coding(),
        "subtype": [row.subtype.coding()],
        "action": row.action,
        "recorded": recorded,
        "outcome": outcome,
    }
    if outcome_desc:
        built["outcomeDesc"] = outcome_desc
    if purpose:
        built["purposeOfEvent"] = [{"coding": [{"system": ACT_REASON, "code": purpose}]}]
    built["agent"] = agents
    built["source"] = {"observer": gateway.who, "type": [APPLICATION_SERVER.coding()]}
    built["entity"] = entities
    return built
