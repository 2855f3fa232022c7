"""AuditEvent (FHIR R4) builders following IHE Basic Audit Log Patterns (BALP) 1.1.

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
  restful-interaction#delete, action D).

Emergency disclosures carry purpose ``ETREAT`` and the facts 42 CFR 2.51(c) asks to be
recorded as ``entity.detail``. docs/audit.md lists every code and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DCM = "http://dicom.nema.org/resources/ontology/DCM"
LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
NETWORK_TYPE = "http://hl7.org/fhir/network-type"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
SECURITY_ROLE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"
BALP_AUTHZ_SUBTYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType"
BALP_USER_AGENT_TYPES = "https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"
IHE_EVENT_TYPE = "urn:ihe:event-type-code"

SUCCESS = "0"
MINOR_FAILURE = "4"


@dataclass(frozen=True)
class Party:
    """An agent of an audited event: a FHIR Reference and, if known, its network address."""

    who: dict[str, Any]
    network: str | None = None


def _coding(system: str, code: str, display: str = "") -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _network(address: str) -> dict[str, Any]:
    if "://" in address:
        kind = "5"
    elif address.replace(".", "").isdigit() or ":" in address:
        kind = "2"
    else:
        kind = "1"
    return {"address": address, "type": kind}


def _agent(kind: dict[str, str], party: Party, *, requestor: bool, **extra: Any) -> dict[str, Any]:
    agent: dict[str, Any] = {"type": {"coding": [kind]}, "who": party.who, "requestor": requestor}
    if party.network:
        agent["network"] = _network(party.network)
    agent.update(extra)
    return agent


def _source(gateway: Party) -> dict[str, Any]:
    return {
        "observer": gateway.who,
        "type": [_coding(SOURCE_TYPE, "4", "Application Server")],
    }


def patient_entity(patient: dict[str, Any]) -> dict[str, Any]:
    return {
        "what": patient,
        "type": _coding(ENTITY_TYPE, "1", "Person"),
        "role": _coding(OBJECT_ROLE, "1", "Patient"),
    }


def data_entity(what: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "what": what,
        "type": _coding(ENTITY_TYPE, "2", "System Object"),
        "role": _coding(OBJECT_ROLE, "4", "Domain Resource"),
        **extra,
    }


def _detail(kind: str, value: str) -> dict[str, str]:
    return {"type": kind, "valueString": value}


def _purpose(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": ACT_REASON, "code": code}]}]


def _event(
    *,
    event_type: dict[str, str],
    subtype: list[dict[str, str]],
    action: str,
    recorded: str,
    outcome: str,
    gateway: Party,
    agents: list[dict[str, Any]],
    entities: list[dict[str, Any]],
    purpose: str | None = None,
    outcome_desc: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": event_type,
        "subtype": subtype,
        "action": action,
        "recorded": recorded,
        "outcome": outcome,
    }
    if outcome_desc:
        event["outcomeDesc"] = outcome_desc
    if purpose:
        event["purposeOfEvent"] = _purpose(purpose)
    event.update({"agent": agents, "source": _source(gateway), "entity": entities})
    return event


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
    return _event(
        event_type=_coding(DCM, "110106", "Export"),
        subtype=[_coding(LIFECYCLE, "disclose", "Disclose Record Lifecycle Event")],
        action="R",
        recorded=recorded,
        outcome=outcome,
        outcome_desc=outcome_desc,
        purpose=purpose,
        gateway=gateway,
        agents=[
            _agent(_coding(DCM, "110153", "Source Role ID"), gateway, requestor=False),
            _agent(_coding(DCM, "110152", "Destination Role ID"), recipient, requestor=False),
        ],
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
    event["entity"].append(
        {
            "type": _coding(ENTITY_TYPE, "4", "Other"),
            "description": "Medical emergency disclosure record (42 CFR 2.51(c))",
            "detail": [
                _detail("recipient", recipient_name),
                _detail("recipient-affiliation", recipient_affiliation),
                _detail("disclosed-by", disclosed_by),
                _detail("disclosed-at", recorded),
                _detail("nature-of-emergency", nature_of_emergency),
            ],
        }
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
    return _event(
        event_type=_coding(DCM, "110107", "Import"),
        subtype=[_coding(LIFECYCLE, "disclose", "Disclose Record Lifecycle Event")],
        action="C",
        recorded=recorded,
        outcome=SUCCESS,
        purpose=purpose,
        gateway=gateway,
        agents=[
            _agent(_coding(DCM, "110153", "Source Role ID"), submitter, requestor=True),
            _agent(_coding(DCM, "110152", "Destination Role ID"), gateway, requestor=False),
        ],
        entities=[patient_entity(patient), *(data_entity(what) for what in data)],
    )


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
        entities.append({"what": consent, "type": _coding(RESOURCE_TYPES, "Consent", "Consent")})
    if token_jti:
        entities.append(
            {
                "what": {"identifier": {"value": f"urn:ietf:params:oauth:jti:{token_jti}"}},
                "type": _coding(BALP_USER_AGENT_TYPES, "UserOauthAgent"),
            }
        )
    return _event(
        event_type=_coding(DCM, "110113", "Security Alert"),
        subtype=[
            _coding(
                BALP_AUTHZ_SUBTYPE,
                "AuthZ-Consent",
                "Authorization Decision using Roles and Consent",
            )
        ],
        action="E",
        recorded=recorded,
        outcome=SUCCESS if permit else MINOR_FAILURE,
        outcome_desc=reason,
        purpose=purpose,
        gateway=gateway,
        agents=[
            _agent(_coding(DCM, "110150", "Application"), client, requestor=True),
            _agent(
                _coding(PARTICIPATION_TYPE, "IRCP", "information recipient"),
                recipient,
                requestor=False,
            ),
            _agent(
                _coding(SECURITY_ROLE, "authserver", "authorization server"),
                gateway,
                requestor=False,
            ),
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
    response = {
        "what": {"identifier": {"value": f"urn:ietf:params:oauth:jti:{jti}"}},
        "type": _coding(ENTITY_TYPE, "2", "System Object"),
        "role": _coding(OBJECT_ROLE, "13", "Security Resource"),
        "detail": [_detail("scope", scope), _detail("expires_in", str(expires_in))],
    }
    return _token_event(recorded, gateway, client, SUCCESS, None, [response])


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
    details = [_detail("error", error)]
    if requested_scope:
        details.append(_detail("scope", requested_scope))
    request = {
        "type": _coding(ENTITY_TYPE, "2", "System Object"),
        "role": _coding(OBJECT_ROLE, "24", "Query"),
        "detail": details,
    }
    return _token_event(recorded, gateway, client, MINOR_FAILURE, description, [request])


def _token_event(
    recorded: str,
    gateway: Party,
    client: Party,
    outcome: str,
    outcome_desc: str | None,
    entities: list[dict[str, Any]],
) -> dict[str, Any]:
    return _event(
        event_type=_coding(DCM, "110114", "User Authentication"),
        subtype=[_coding(IHE_EVENT_TYPE, "ITI-71", "Get Access Token")],
        action="E",
        recorded=recorded,
        outcome=outcome,
        outcome_desc=outcome_desc,
        gateway=gateway,
        agents=[
            _agent(_coding(DCM, "110150", "Application"), client, requestor=True),
            _agent(
                _coding(BALP_USER_AGENT_TYPES, "AuthzOauthService"),
                gateway,
                requestor=False,
            ),
        ],
        entities=entities,
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
    event = disclosure(
        recorded=recorded,
        gateway=gateway,
        recipient=requester,
        patient=patient,
        purpose="PATRQT",
        data=[],
    )
    event["entity"].append(
        {
            "type": _coding(ENTITY_TYPE, "2", "System Object"),
            "role": _coding(OBJECT_ROLE, "3", "Report"),
            "description": "Export of everything held about the person (FHIR Bundle)",
            "detail": [_detail("resource-count", str(resource_count))],
        }
    )
    return event


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
    return _event(
        event_type=_coding(AUDIT_EVENT_TYPE, "rest", "Restful Operation"),
        subtype=[_coding(RESTFUL_INTERACTION, "delete", "delete")],
        action="D",
        recorded=recorded,
        outcome=SUCCESS,
        purpose="PATRQT",
        gateway=gateway,
        agents=[
            _agent(_coding(DCM, "110150", "Application"), requester, requestor=True),
            _agent(
                _coding(PROVENANCE_PARTICIPANT, "custodian", "Custodian"), gateway, requestor=False
            ),
        ],
        entities=[
            patient_entity(pseudonymised_patient),
            {
                "type": _coding(ENTITY_TYPE, "2", "System Object"),
                "role": _coding(OBJECT_ROLE, "4", "Domain Resource"),
                "lifecycle": _coding(LIFECYCLE, "destroy", "Destroy/Delete Record Lifecycle Event"),
                "description": "Erased",
                "detail": [_detail("erased", item) for item in erased],
            },
            {
                "type": _coding(ENTITY_TYPE, "2", "System Object"),
                "role": _coding(OBJECT_ROLE, "4", "Domain Resource"),
                "lifecycle": _coding(
                    LIFECYCLE, "pseudonymize", "Pseudonymize Record Lifecycle Event"
                ),
                "description": "Kept, with the person's identifiers replaced by a keyed hash",
                "detail": [_detail("kept", item) for item in kept],
            },
        ],
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
    interaction = "create" if action == "C" else "update"
    return _event(
        event_type=_coding(AUDIT_EVENT_TYPE, "rest", "Restful Operation"),
        subtype=[_coding(RESTFUL_INTERACTION, interaction, interaction)],
        action=action,
        recorded=recorded,
        outcome=SUCCESS,
        outcome_desc="Consent withdrawn by the person" if revoked else None,
        gateway=gateway,
        agents=[
            _agent(_coding(DCM, "110150", "Application"), client, requestor=True),
            _agent(_coding(DCM, "110153", "Source Role ID"), gateway, requestor=False),
        ],
        entities=[
            patient_entity(patient),
            data_entity(consent),
        ],
    )


# The crisis path (docs/crisis.md): acknowledgements, escalations and reviews of
# emergency disclosures. BALP has no profile for these workflow events; they keep the
# BALP shape with DICOM event types and a gateway subtype (GATEWAY_SUBTYPE).
GATEWAY_SUBTYPE = "urn:referral-gateway:audit-subtype"


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
    return _event(
        event_type=_coding(DCM, "110109", "Order Record"),
        subtype=[_coding(GATEWAY_SUBTYPE, "crisis-acknowledged", "Crisis referral acknowledged")],
        action="U",
        recorded=recorded,
        outcome=SUCCESS,
        gateway=gateway,
        agents=[
            _agent(_coding(DCM, "110150", "Application"), client, requestor=True),
            _agent(
                _coding(SECURITY_ROLE, "humanuser", "human user"), _human(person), requestor=True
            ),
            _agent(
                _coding(PARTICIPATION_TYPE, "IRCP", "information recipient"),
                crisis_service,
                requestor=False,
            ),
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
    agents = [_agent(_coding(DCM, "110153", "Source Role ID"), gateway, requestor=True)]
    if contact is not None:
        agents.append(
            _agent(_coding(DCM, "110152", "Destination Role ID"), contact, requestor=False)
        )
    return _event(
        event_type=_coding(DCM, "110109", "Order Record"),
        subtype=[_coding(GATEWAY_SUBTYPE, "crisis-escalated", "Crisis referral escalated")],
        action="E",
        recorded=recorded,
        outcome=SUCCESS if succeeded else MINOR_FAILURE,
        outcome_desc=outcome_desc,
        gateway=gateway,
        agents=agents,
        entities=[
            patient_entity(patient),
            data_entity(referral, detail=[_detail("step", str(step)), _detail("reason", reason)]),
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
    entities.append(
        {
            "what": audit_entry,
            "type": _coding(ENTITY_TYPE, "2", "System Object"),
            "role": _coding(OBJECT_ROLE, "13", "Security Resource"),
        }
    )
    return _event(
        event_type=_coding(DCM, "110101", "Audit Log Used"),
        subtype=[
            _coding(
                GATEWAY_SUBTYPE, "emergency-disclosure-reviewed", "Emergency disclosure reviewed"
            )
        ],
        action="E",
        recorded=recorded,
        outcome=SUCCESS,
        gateway=gateway,
        agents=[
            _agent(_coding(DCM, "110150", "Application"), client, requestor=True),
            _agent(
                _coding(SECURITY_ROLE, "humanuser", "human user"), _human(person), requestor=True
            ),
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
    return _event(
        event_type=_coding(AUDIT_EVENT_TYPE, "rest", "Restful Operation"),
        subtype=[_coding(RESTFUL_INTERACTION, "update", "update")],
        action="U",
        recorded=recorded,
        outcome=SUCCESS,
        outcome_desc=description,
        gateway=gateway,
        agents=[_agent(_coding(DCM, "110150", "Application"), operator, requestor=True)],
        entities=entities,
    )
