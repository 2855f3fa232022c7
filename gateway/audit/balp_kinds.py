"""The codes of every AuditEvent the gateway writes: one table row per event kind and role.

IHE Basic Audit Log Patterns (BALP) 1.1 (https://profiles.ihe.net/ITI/BALP/) and the
DICOM audit vocabulary (DCM). docs/audit.md lists every code and where it comes from.
To audit a new kind of event, add its row to :data:`KINDS` (and the roles its agents
play to :data:`ROLES`), then a builder in ``gateway.audit.balp``.
"""

from __future__ import annotations

from dataclasses import dataclass

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
GATEWAY_SUBTYPE = "urn:referral-gateway:audit-subtype"
"""The crisis path's workflow events: BALP has no profile for them, so they keep the BALP
shape with DICOM event types and a subtype of the gateway's own (docs/crisis.md)."""

SUCCESS = "0"
MINOR_FAILURE = "4"


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str = ""

    def coding(self) -> dict[str, str]:
        coding = {"system": self.system, "code": self.code}
        if self.display:
            coding["display"] = self.display
        return coding


@dataclass(frozen=True)
class EventKind:
    """``AuditEvent.type``, ``subtype`` and ``action`` of one kind of event."""

    type: Code
    subtype: Code
    action: str
    profile: str = ""
    """The IHE profile the event follows, when there is one."""


_DISCLOSE = Code(LIFECYCLE, "disclose", "Disclose Record Lifecycle Event")
_REST = Code(AUDIT_EVENT_TYPE, "rest", "Restful Operation")
_ORDER = Code(DCM, "110109", "Order Record")

KINDS: dict[str, EventKind] = {
    "disclosure": EventKind(
        Code(DCM, "110106", "Export"), _DISCLOSE, "R", "IHE.BasicAudit.PrivacyDisclosure.Source"
    ),
    "import": EventKind(
        Code(DCM, "110107", "Import"), _DISCLOSE, "C", "IHE.BasicAudit.PrivacyDisclosure.Recipient"
    ),
    "consent-decision": EventKind(
        Code(DCM, "110113", "Security Alert"),
        Code(BALP_AUTHZ_SUBTYPE, "AuthZ-Consent", "Authorization Decision using Roles and Consent"),
        "E",
        "IHE.BasicAudit.AuthZconsent",
    ),
    "token": EventKind(
        Code(DCM, "110114", "User Authentication"),
        Code(IHE_EVENT_TYPE, "ITI-71", "Get Access Token"),
        "E",
        "IHE.IUA.71",
    ),
    "erasure": EventKind(
        _REST, Code(RESTFUL_INTERACTION, "delete", "delete"), "D", "ITI.BasicAudit.PatientDelete"
    ),
    "consent-create": EventKind(_REST, Code(RESTFUL_INTERACTION, "create", "create"), "C"),
    "consent-update": EventKind(_REST, Code(RESTFUL_INTERACTION, "update", "update"), "U"),
    "operator-action": EventKind(_REST, Code(RESTFUL_INTERACTION, "update", "update"), "U"),
    "crisis-acknowledged": EventKind(
        _ORDER, Code(GATEWAY_SUBTYPE, "crisis-acknowledged", "Crisis referral acknowledged"), "U"
    ),
    "crisis-escalated": EventKind(
        _ORDER, Code(GATEWAY_SUBTYPE, "crisis-escalated", "Crisis referral escalated"), "E"
    ),
    "emergency-disclosure-reviewed": EventKind(
        Code(DCM, "110101", "Audit Log Used"),
        Code(GATEWAY_SUBTYPE, "emergency-disclosure-reviewed", "Emergency disclosure reviewed"),
        "E",
    ),
}

ROLES: dict[str, Code] = {
    "source": Code(DCM, "110153", "Source Role ID"),
    "destination": Code(DCM, "110152", "Destination Role ID"),
    "application": Code(DCM, "110150", "Application"),
    "recipient": Code(PARTICIPATION_TYPE, "IRCP", "information recipient"),
    "authorization-server": Code(SECURITY_ROLE, "authserver", "authorization server"),
    "oauth-service": Code(BALP_USER_AGENT_TYPES, "AuthzOauthService"),
    "human-user": Code(SECURITY_ROLE, "humanuser", "human user"),
    "custodian": Code(PROVENANCE_PARTICIPANT, "custodian", "Custodian"),
}
"""``AuditEvent.agent.type`` of each part an agent plays."""

PERSON = Code(ENTITY_TYPE, "1", "Person")
SYSTEM_OBJECT = Code(ENTITY_TYPE, "2", "System Object")
OTHER = Code(ENTITY_TYPE, "4", "Other")
PATIENT_ROLE = Code(OBJECT_ROLE, "1", "Patient")
REPORT_ROLE = Code(OBJECT_ROLE, "3", "Report")
DOMAIN_RESOURCE_ROLE = Code(OBJECT_ROLE, "4", "Domain Resource")
SECURITY_RESOURCE_ROLE = Code(OBJECT_ROLE, "13", "Security Resource")
QUERY_ROLE = Code(OBJECT_ROLE, "24", "Query")
APPLICATION_SERVER = Code(SOURCE_TYPE, "4", "Application Server")
