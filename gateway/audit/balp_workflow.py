"""AuditEvents of a person's rights and of the crisis path (BALP 1.1 shape).

- a person's export (purpose ``PATRQT``, a disclosure to the requester) and erasure
  (``ITI.BasicAudit.PatientDelete``, with a keyed-hash identity kept);
- the crisis path (docs/crisis.md): acknowledgements, escalations, reviews of emergency
  disclosures, and operators' actions. BALP has no profile for these workflow events:
  they keep the BALP shape with DICOM event types and a subtype of the gateway's own.
"""

from __future__ import annotations

from typing import Any

from gateway.audit.balp_build import (
    Party,
    agent,
    data_entity,
    detail,
    entity,
    event,
    patient_entity,
)
from gateway.audit.balp_kinds import (
    DOMAIN_RESOURCE_ROLE,
    LIFECYCLE,
    MINOR_FAILURE,
    REPORT_ROLE,
    SECURITY_RESOURCE_ROLE,
    SUCCESS,
    SYSTEM_OBJECT,
    Code,
)


def patient_export(
    *,
    recorded: str,
    gateway: Party,
    requester: Party,
    patient: dict[str, Any],
    resource_count: int,
) -> dict[str, Any]:
    """Everything held about a person was exported at their request (purpose PATRQT)."""
    report = entity(
        SYSTEM_OBJECT,
        REPORT_ROLE,
        description="Export of everything held about the person (FHIR Bundle)",
        detail=[detail("resource-count", str(resource_count))],
    )
    return event(
        "disclosure",
        recorded=recorded,
        purpose="PATRQT",
        gateway=gateway,
        agents=[agent("source", gateway), agent("destination", requester)],
        entities=[patient_entity(patient), report],
    )


def patient_erasure(
    *,
    recorded: str,
    gateway: Party,
    requester: Party,
    pseudonymised_patient: dict[str, Any],
    erased: list[str],
    kept: list[str],
) -> dict[str, Any]:
    """A person's data was erased (BALP PatientDelete); the audit keeps a keyed-hash identity.

    ``erased`` and ``kept`` name what was destroyed and what was kept (pseudonymised).
    """
    destroyed = Code(LIFECYCLE, "destroy", "Destroy/Delete Record Lifecycle Event")
    pseudonymised = Code(LIFECYCLE, "pseudonymize", "Pseudonymize Record Lifecycle Event")
    return event(
        "erasure",
        recorded=recorded,
        purpose="PATRQT",
        gateway=gateway,
        agents=[agent("application", requester, requestor=True), agent("custodian", gateway)],
        entities=[
            patient_entity(pseudonymised_patient),
            entity(
                SYSTEM_OBJECT,
                DOMAIN_RESOURCE_ROLE,
                lifecycle=destroyed.coding(),
                description="Erased",
                detail=[detail("erased", item) for item in erased],
            ),
            entity(
                SYSTEM_OBJECT,
                DOMAIN_RESOURCE_ROLE,
                lifecycle=pseudonymised.coding(),
                description="Kept, with the person's identifiers replaced by a keyed hash",
                detail=[detail("kept", item) for item in kept],
            ),
        ],
    )


def _human(name: str) -> Party:
    return Party(who={"display": name})


def crisis_acknowledged(
    *,
    recorded: str,
    gateway: Party,
    client: Party,
    person: str,
    crisis_service: Party,
    patient: dict[str, Any],
    referral: dict[str, Any],
) -> dict[str, Any]:
    """A person acknowledged a crisis referral (DCM 110109 Order Record, action U)."""
    return event(
        "crisis-acknowledged",
        recorded=recorded,
        gateway=gateway,
        agents=[
            agent("application", client, requestor=True),
            agent("human-user", _human(person), requestor=True),
            agent("recipient", crisis_service),
        ],
        entities=[patient_entity(patient), data_entity(referral)],
    )


def crisis_escalated(
    *,
    recorded: str,
    gateway: Party,
    contact: Party | None,
    patient: dict[str, Any],
    referral: dict[str, Any],
    step: int,
    reason: str,
    succeeded: bool,
    outcome_desc: str,
) -> dict[str, Any]:
    """An escalation step for an unacknowledged crisis referral (DCM 110109, action E).

    ``contact`` is the escalation contact notified, or ``None`` for an alert to the
    operators watching the crisis desk; ``succeeded`` is false when the webhook failed.
    """
    agents = [agent("source", gateway, requestor=True)]
    if contact is not None:
        agents.append(agent("destination", contact))
    return event(
        "crisis-escalated",
        recorded=recorded,
        outcome=SUCCESS if succeeded else MINOR_FAILURE,
        outcome_desc=outcome_desc,
        gateway=gateway,
        agents=agents,
        entities=[
            patient_entity(patient),
            data_entity(referral, detail=[detail("step", str(step)), detail("reason", reason)]),
        ],
    )


def emergency_disclosure_reviewed(
    *,
    recorded: str,
    gateway: Party,
    client: Party,
    person: str,
    patient: dict[str, Any] | None,
    audit_entry: dict[str, Any],
) -> dict[str, Any]:
    """An operator reviewed an emergency disclosure (DCM 110101 Audit Log Used, action E)."""
    entities = [patient_entity(patient)] if patient else []
    entities.append(entity(SYSTEM_OBJECT, SECURITY_RESOURCE_ROLE, what=audit_entry))
    return event(
        "emergency-disclosure-reviewed",
        recorded=recorded,
        gateway=gateway,
        agents=[
            agent("application", client, requestor=True),
            agent("human-user", _human(person), requestor=True),
        ],
        entities=entities,
    )


def operator_action(
    *,
    recorded: str,
    gateway: Party,
    operator: Party,
    description: str,
    what: dict[str, Any],
    patient: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An operator changed what the gateway will do (e.g. replayed a dead letter)."""
    entities = [data_entity(what)]
    if patient is not None:
        entities.insert(0, patient_entity(patient))
    return event(
        "operator-action",
        recorded=recorded,
        outcome_desc=description,
        gateway=gateway,
        agents=[agent("application", operator, requestor=True)],
        entities=entities,
    )
