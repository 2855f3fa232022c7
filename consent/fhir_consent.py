"""The triage submission's inline consent as a FHIR R4 Consent, and checks on a filed one.

Spec: FHIR R4 Consent (http://hl7.org/fhir/R4/consent.html), privacy scope (§17.5.3).
The shape written (docs/consent.md explains each choice):

- ``scope`` consentscope#patient-privacy, ``category`` LOINC 59284-0;
- ``policyRule`` v3-ActCode#OPTIN: nothing is shared unless the person opted in;
- ``sourceAttachment`` names the consent text version the person accepted
  (``url`` = ``urn:referral-gateway:consent-text:<version>``);
- ``meta.source`` names the client that recorded it;
- ``provision``: a base ``deny`` over ``period`` (recorded_at .. expires) with one nested
  ``permit`` per recipient category: actor role v3-ParticipationType#IRCP, reference
  ``identifier`` = ``urn:referral-gateway:recipient-category|<category>``; action
  ``disclose``; the purposes (v3-ActReason); covered labels ``R`` and ``PSY``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from consent.periods import is_valid_date_or_datetime, period_end, period_start
from consent.vocab import (
    ACT_CODE,
    ACT_REASON,
    CONSENT_SCOPE,
    LOINC,
    PARTICIPATION_TYPE,
    PSYCHIATRY,
    RECIPIENT_CATEGORIES,
    RECIPIENT_CATEGORY_SYSTEM,
    RESTRICTED,
)

CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
CONSENT_TEXT_PREFIX = "urn:referral-gateway:consent-text:"
CLIENT_SOURCE_PREFIX = "urn:referral-gateway:client:"
STATUSES = frozenset({"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"})

ACTOR_DISPLAY = {
    "ehr": "Any care team health record system (EHR)",
    "crisis": "Any crisis service",
    "community": "Any community service organisation",
}

PURPOSE_DISPLAY = {
    "TREAT": "treatment",
    "ETREAT": "emergency treatment",
    "HPAYMT": "healthcare payment",
    "HOPERAT": "healthcare operations",
    "PUBHLTH": "public health",
    "HRESCH": "healthcare research",
    "CAREMGT": "care management",
    "PATRQT": "patient requested",
}


@dataclass(frozen=True)
class Problem:
    """What is wrong and where, as a FHIRPath-like expression (``Consent.provision.type``)."""

    expression: str
    message: str


@dataclass(frozen=True)
class ConsentRecord:
    """The facts of a valid Consent that the gateway stores and indexes."""

    id: str | None
    status: str
    patient: dict[str, Any]
    date_time: str | None
    period_start: str | None
    period_end: str | None
    categories: tuple[str, ...]
    """Recipient categories some permit provision names."""
    purposes: tuple[str, ...]
    accepted_text_version: str | None
    resource: dict[str, Any]


def submission_problems(consent: dict[str, Any]) -> list[Problem]:
    """Problems with the contract's inline ``consent`` object (expressions under ``consent``)."""
    problems: list[Problem] = []
    share_with = consent.get("share_with")
    if not isinstance(share_with, list):
        problems.append(Problem("consent.share_with", "must list the recipients (may be empty)"))
    else:
        for index, category in enumerate(share_with):
            if category not in RECIPIENT_CATEGORIES:
                problems.append(
                    Problem(f"consent.share_with[{index}]", f"unknown recipient {category!r}")
                )
    purposes = consent.get("purposes")
    if not isinstance(purposes, list) or not purposes:
        problems.append(Problem("consent.purposes", "must list at least one purpose"))
    else:
        for index, purpose in enumerate(purposes):
            if purpose not in PURPOSE_DISPLAY:
                problems.append(
                    Problem(f"consent.purposes[{index}]", f"unknown purpose {purpose!r}")
                )
    expires = consent.get("expires")
    if expires is not None and not _is_date(expires):
        problems.append(Problem("consent.expires", "must be a date (YYYY-MM-DD)"))
    version = consent.get("accepted_text_version")
    if not isinstance(version, str) or not version:
        problems.append(Problem("consent.accepted_text_version", "is required"))
    return problems


def consent_from_submission(
    consent: dict[str, Any],
    *,
    patient_ref: str,
    patient_identifier: dict[str, Any],
    recorded_at: str,
    consent_uuid: str,
    client_id: str,
) -> dict[str, Any]:
    """A FHIR R4 Consent for the inline ``consent``; raises ``ValueError`` if it is invalid."""
    problems = submission_problems(consent)
    if problems:
        raise ValueError("; ".join(f"{p.expression}: {p.message}" for p in problems))
    categories = [c for c in RECIPIENT_CATEGORIES if c in consent["share_with"]]
    purposes = [_purpose_coding(code) for code in dict.fromkeys(consent["purposes"])]
    period = {"start": recorded_at}
    if consent.get("expires"):
        period["end"] = consent["expires"]
    version = consent["accepted_text_version"]
    return {
        "resourceType": "Consent",
        "id": consent_uuid,
        "meta": {"source": CLIENT_SOURCE_PREFIX + client_id},
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{consent_uuid}"}],
        "status": "active",
        "scope": {
            "coding": [
                {"system": CONSENT_SCOPE, "code": "patient-privacy", "display": "Privacy Consent"}
            ]
        },
        "category": [
            {"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}
        ],
        "patient": {"reference": patient_ref, "identifier": patient_identifier},
        "dateTime": recorded_at,
        "performer": [{"reference": patient_ref}],
        "sourceAttachment": {
            "title": f"Consent text {version}",
            "url": CONSENT_TEXT_PREFIX + version,
        },
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN", "display": "opt-in"}]},
        "provision": {
            "type": "deny",
            "period": period,
            "provision": [_permit_for(category, purposes) for category in categories],
        },
    }


def recipient_actor(category: str) -> dict[str, Any]:
    """A ``provision.actor`` naming a recipient category."""
    return {
        "role": {
            "coding": [
                {"system": PARTICIPATION_TYPE, "code": "IRCP", "display": "information recipient"}
            ]
        },
        "reference": {
            "identifier": {"system": RECIPIENT_CATEGORY_SYSTEM, "value": category},
            "display": ACTOR_DISPLAY[category],
        },
    }


def _permit_for(category: str, purposes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "permit",
        "actor": [recipient_actor(category)],
        "action": [{"coding": [{"system": CONSENT_ACTION, "code": "disclose"}]}],
        "securityLabel": [RESTRICTED.to_coding(), PSYCHIATRY.to_coding()],
        "purpose": purposes,
    }


def _purpose_coding(code: str) -> dict[str, Any]:
    return {"system": ACT_REASON, "code": code, "display": PURPOSE_DISPLAY[code]}


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def parse_consent(resource: dict[str, Any]) -> ConsentRecord | list[Problem]:
    """Check a Consent filed with ``POST /fhir/Consent``; its facts, or what is wrong."""
    problems = _resource_problems(resource)
    if problems:
        return problems
    provision = resource["provision"]
    period = provision.get("period") or {}
    return ConsentRecord(
        id=resource.get("id"),
        status=resource["status"],
        patient=resource["patient"],
        date_time=resource.get("dateTime"),
        period_start=period.get("start"),
        period_end=period.get("end"),
        categories=permitted_categories(provision),
        purposes=tuple(dict.fromkeys(permitted_purposes(provision))),
        accepted_text_version=_text_version(resource),
        resource=resource,
    )


def _resource_problems(resource: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    if resource.get("resourceType") != "Consent":
        return [Problem("resourceType", "must be Consent")]
    if resource.get("status") not in STATUSES:
        problems.append(Problem("Consent.status", f"must be one of {', '.join(sorted(STATUSES))}"))
    scope_codes = {c.get("code") for c in (resource.get("scope") or {}).get("coding", [])}
    if "patient-privacy" not in scope_codes:
        problems.append(Problem("Consent.scope", "must be consentscope#patient-privacy"))
    if not resource.get("category"):
        problems.append(Problem("Consent.category", "is required (LOINC 59284-0)"))
    patient = resource.get("patient")
    if not isinstance(patient, dict) or not (patient.get("reference") or patient.get("identifier")):
        problems.append(Problem("Consent.patient", "must reference the patient"))
    if "dateTime" in resource and not is_valid_date_or_datetime(resource["dateTime"]):
        problems.append(Problem("Consent.dateTime", "must be a FHIR dateTime"))
    if not (resource.get("policy") or resource.get("policyRule")):
        problems.append(Problem("Consent.policyRule", "policy or policyRule is required (ppc-1)"))
    provision = resource.get("provision")
    if not isinstance(provision, dict):
        problems.append(Problem("Consent.provision", "is required"))
    else:
        problems.extend(_provision_problems(provision, "Consent.provision", root=True))
    return problems


def _provision_problems(provision: dict[str, Any], path: str, *, root: bool) -> list[Problem]:
    problems: list[Problem] = []
    kind = provision.get("type")
    if (root or kind is not None) and kind not in ("permit", "deny"):
        problems.append(Problem(f"{path}.type", "must be permit or deny"))
    problems.extend(_period_problems(provision.get("period"), f"{path}.period"))
    for index, actor in enumerate(provision.get("actor") or []):
        reference = actor.get("reference") if isinstance(actor, dict) else None
        if not isinstance(reference, dict) or not reference:
            problems.append(Problem(f"{path}.actor[{index}].reference", "is required"))
    children = provision.get("provision") or []
    if not isinstance(children, list):
        return [*problems, Problem(f"{path}.provision", "must be a list")]
    for index, child in enumerate(children):
        child_path = f"{path}.provision[{index}]"
        if not isinstance(child, dict):
            problems.append(Problem(child_path, "must be an object"))
            continue
        problems.extend(_provision_problems(child, child_path, root=False))
    return problems


def _period_problems(period: object, path: str) -> list[Problem]:
    if period is None:
        return []
    if not isinstance(period, dict):
        return [Problem(path, "must be a Period")]
    problems = [
        Problem(f"{path}.{bound}", "must be a FHIR date or dateTime")
        for bound in ("start", "end")
        if bound in period and not is_valid_date_or_datetime(period[bound])
    ]
    has_both = not problems and "start" in period and "end" in period
    if has_both and period_end(period["end"]) <= period_start(period["start"]):
        problems.append(Problem(f"{path}.end", "must come after the start"))
    return problems


def _walk(provision: dict[str, Any]) -> list[dict[str, Any]]:
    found = [provision]
    for child in provision.get("provision") or []:
        found.extend(_walk(child))
    return found


def permitted_categories(root: dict[str, Any]) -> tuple[str, ...]:
    named: set[str] = set()
    for provision in _walk(root):
        if provision.get("type") != "permit":
            continue
        for actor in provision.get("actor") or []:
            identifier = actor["reference"].get("identifier") or {}
            value = identifier.get("value")
            if identifier.get("system") == RECIPIENT_CATEGORY_SYSTEM and isinstance(value, str):
                named.add(value)
    return tuple(c for c in RECIPIENT_CATEGORIES if c in named)


def permitted_purposes(root: dict[str, Any]) -> list[str]:
    return [
        coding["code"]
        for provision in _walk(root)
        if provision.get("type") == "permit"
        for coding in provision.get("purpose") or []
        if coding.get("code")
    ]


def _text_version(resource: dict[str, Any]) -> str | None:
    url = (resource.get("sourceAttachment") or {}).get("url") or ""
    return url.removeprefix(CONSENT_TEXT_PREFIX) if url.startswith(CONSENT_TEXT_PREFIX) else None
