"""AuditEvent (FHIR R4) builders following IHE Basic Audit Log Patterns (BALP) 1.1.

The event kinds and their codes are one table (``gateway.audit.balp_kinds.KINDS``);
every builder goes through the one ``balp_build.event``. This module builds the
disclosure, consent and token events and re-exports the rest (``balp_workflow``).

Profiles (https://profiles.ihe.net/ITI/BALP/):

- ``IHE.BasicAudit.PrivacyDisclosure.Source``: a disclosure the gateway makes
  (DCM 110106 Export, action R, subtype iso-21089-lifecycle#disclose);
- ``IHE.BasicAudit.PrivacyDisclosure.Recipient``: a triage submission the gateway
  receives (DCM 110107 Import, action C, subtype disclose);
- ``IHE.BasicAudit.AuthZconsent``: a consent decision (DCM 110113 Security Alert,
  subtype AuthZsubType#AuthZ-Consent, action E);
- ``IHE.IUA.71``: issuing an access token (DCM 110114 User Authentication,
  subtype urn:ihe:event-type-code#ITI-71, action E);
- ``ITI.BasicAudit.PatientDelete``: erasure (audit-event-type#rest, subtype
  restful-interaction#delete, action D), in ``balp_workflow``.

Emergency disclosures carry purpose ``ETREAT`` and the facts 42 CFR 2.51(c) asks to be
recorded as ``entity.detail``. docs/audit.md lists every code and where it comes from.
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
    AUDIT_EVENT_TYPE,
    BALP_AUTHZ_SUBTYPE,
    BALP_USER_AGENT_TYPES,
    DCM,
    GATEWAY_SUBTYPE,
    LIFECYCLE,
    MINOR_FAILURE,
    OTHER,
    QUERY_ROLE,
    RESOURCE_TYPES,
    RESTFUL_INTERACTION,
    SECURITY_RESOURCE_ROLE,
    SUCCESS,
    SYSTEM_OBJECT,
    Code,
)
from gateway.audit.balp_workflow import (
    crisis_acknowledged,
    crisis_escalated,
    emergency_disclosure_reviewed,
    operator_action,
    patient_erasure,
    patient_export,
)

__all__ = [
    "AUDIT_EVENT_TYPE",
    "BALP_AUTHZ_SUBTYPE",
    "DCM",
    "GATEWAY_SUBTYPE",
    "LIFECYCLE",
    "MINOR_FAILURE",
    "RESTFUL_INTERACTION",
    "SUCCESS",
    "Party",
    "accounting_row",
    "consent_decision",
    "consent_recorded",
    "crisis_acknowledged",
    "crisis_escalated",
    "data_entity",
    "disclosure",
    "emergency_disclosure",
    "emergency_disclosure_reviewed",
    "operator_action",
    "patient_entity",
    "patient_erasure",
    "patient_export",
    "submission_received",
    "token_issued",
    "token_refused",
]


def disclosure(
    *,
    recorded: str,
    gateway: Party,
    recipient: Party,
    patient: dict[str, Any],
    purpose: str,
    data: list[dict[str, Any]],
    outcome: str = SUCCESS,
    outcome_desc: str | None = None,
) -> dict[str, Any]:
    """The gateway disclosed ``data`` about ``patient`` to ``recipient`` (BALP Source)."""
    return event(
        "disclosure",
        recorded=recorded,
        outcome=outcome,
        outcome_desc=outcome_desc,
        purpose=purpose,
        gateway=gateway,
        agents=[agent("source", gateway), agent("destination", recipient)],
        entities=[patient_entity(patient), *(data_entity(what) for what in data)],
    )


def emergency_disclosure(
    *,
    recorded: str,
    gateway: Party,
    recipient: Party,
    recipient_name: str,
    recipient_affiliation: str,
    disclosed_by: str,
    nature_of_emergency: str,
    patient: dict[str, Any],
    data: list[dict[str, Any]],
) -> dict[str, Any]:
    """A disclosure under ``ETREAT`` with the facts 42 CFR 2.51(c) requires on record."""
    event = disclosure(
        recorded=recorded,
        gateway=gateway,
        recipient=recipient,
        patient=patient,
        purpose="ETREAT",
        data=data,
        outcome_desc=f"Emergency disclosure (42 CFR 2.51): {nature_of_emergency}",
    )
    facts = {
        "recipient": recipient_name,
        "recipient-affiliation": recipient_affiliation,
        "disclosed-by": disclosed_by,
        "disclosed-at": recorded,
        "nature-of-emergency": nature_of_emergency,
    }
    event["entity"].append(
        entity(
            OTHER,
            description="Medical emergency disclosure record (42 CFR 2.51(c))",
            detail=[detail(kind, value) for kind, value in facts.items()],
        )
    )
    return event


def submission_received(
    *,
    recorded: str,
    gateway: Party,
    submitter: Party,
    patient: dict[str, Any],
    data: list[dict[str, Any]],
    purpose: str = "TREAT",
) -> dict[str, Any]:
    """The gateway received a triage submission from ``submitter`` (BALP Recipient)."""
    return event(
        "import",
        recorded=recorded,
        purpose=purpose,
        gateway=gateway,
        agents=[agent("source", submitter, requestor=True), agent("destination", gateway)],
        entities=[patient_entity(patient), *(data_entity(what) for what in data)],
    )


def _jti(jti: str) -> dict[str, Any]:
    return {"identifier": {"value": f"urn:ietf:params:oauth:jti:{jti}"}}


def consent_decision(
    *,
    recorded: str,
    gateway: Party,
    client: Party,
    recipient: Party,
    patient: dict[str, Any],
    consent: dict[str, Any] | None,
    permit: bool,
    reason: str,
    purpose: str,
    token_jti: str | None = None,
) -> dict[str, Any]:
    """A consent decision (BALP AuthZconsent): success for permit, minor failure for deny.

    ``recipient`` is the destination the decision was about (agent IRCP); ``consent`` is
    ``None`` when no consent was in force (an emergency or a deny).
    """
    entities = [patient_entity(patient)]
    if consent is not None:
        entities.append(entity(Code(RESOURCE_TYPES, "Consent", "Consent"), what=consent))
    if token_jti:
        entities.append(entity(Code(BALP_USER_AGENT_TYPES, "UserOauthAgent"), what=_jti(token_jti)))
    return event(
        "consent-decision",
        recorded=recorded,
        outcome=SUCCESS if permit else MINOR_FAILURE,
        outcome_desc=reason,
        purpose=purpose,
        gateway=gateway,
        agents=[
            agent("application", client, requestor=True),
            agent("recipient", recipient),
            agent("authorization-server", gateway),
        ],
        entities=entities,
    )


def token_issued(
    *,
    recorded: str,
    gateway: Party,
    client: Party,
    jti: str,
    scope: str,
    expires_in: int,
) -> dict[str, Any]:
    """An access token was issued (IHE IUA ITI-71 pattern)."""
    response = entity(
        SYSTEM_OBJECT,
        SECURITY_RESOURCE_ROLE,
        what=_jti(jti),
        detail=[detail("scope", scope), detail("expires_in", str(expires_in))],
    )
    return _tokenevent(recorded, gateway, client, SUCCESS, None, response)


def token_refused(
    *,
    recorded: str,
    gateway: Party,
    client: Party,
    error: str,
    description: str,
    requested_scope: str | None = None,
) -> dict[str, Any]:
    """A token request was refused; ``error`` is the OAuth error code (RFC 6749 §5.2)."""
    details = [detail("error", error)]
    if requested_scope:
        details.append(detail("scope", requested_scope))
    request = entity(SYSTEM_OBJECT, QUERY_ROLE, detail=details)
    return _tokenevent(recorded, gateway, client, MINOR_FAILURE, description, request)


def _tokenevent(
    recorded: str,
    gateway: Party,
    client: Party,
    outcome: str,
    outcome_desc: str | None,
    entity: dict[str, Any],
) -> dict[str, Any]:
    return event(
        "token",
        recorded=recorded,
        outcome=outcome,
        outcome_desc=outcome_desc,
        gateway=gateway,
        agents=[agent("application", client, requestor=True), agent("oauth-service", gateway)],
        entities=[entity],
    )


def accounting_row(event: dict[str, Any]) -> dict[str, Any] | None:
    """One line of an accounting of disclosures (HIPAA 45 CFR 164.528(b)(2)), or ``None``.

    Date, recipient, what was disclosed and why, read from a disclosure AuditEvent.
    """
    subtypes = {(c.get("system"), c.get("code")) for c in event.get("subtype", [])}
    if (LIFECYCLE, "disclose") not in subtypes or event.get("type", {}).get("code") != "110106":
        return None
    recipients = [
        agent["who"]
        for agent in event.get("agent", [])
        if any(c.get("code") == "110152" for c in agent.get("type", {}).get("coding", []))
    ]
    what = [
        entity["what"]
        for entity in event.get("entity", [])
        if entity.get("what") and entity.get("role", {}).get("code") != "1"
    ]
    purposes = [c["code"] for p in event.get("purposeOfEvent", []) for c in p.get("coding", [])]
    return {
        "date": event["recorded"],
        "recipient": recipients[0] if recipients else None,
        "what": what,
        "purpose": purposes,
        "outcome": event.get("outcome"),
    }


def consent_recorded(
    *,
    recorded: str,
    gateway: Party,
    client: Party,
    patient: dict[str, Any],
    consent: dict[str, Any],
    action: str,
    revoked: bool = False,
) -> dict[str, Any]:
    """A Consent was filed (``action`` C) or changed (U) through the FHIR API."""
    return event(
        "consent-create" if action == "C" else "consent-update",
        recorded=recorded,
        outcome_desc="Consent withdrawn by the person" if revoked else None,
        gateway=gateway,
        agents=[agent("application", client, requestor=True), agent("source", gateway)],
        entities=[patient_entity(patient), data_entity(consent)],
    )
