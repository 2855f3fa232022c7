"""Consents filed directly (``POST /fhir/Consent``), revoked (``PUT`` status
``inactive``) and summarised in plain language.

A Consent names its patient by reference or identifier. The gateway resolves the
identifier to its local Patient, creating a bare one (identifier only) when the
person has no referral yet, so a later triage result for the same identifier
attaches to the same person.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from consent.fhir_consent import Problem, parse_consent
from gateway.audit.recorder import AuditRecorder
from gateway.errors import Forbidden, InvalidInput, Issue, NotFound, PreconditionFailed
from gateway.store import fhir_store
from mappings.validation import validate_resource


def _invalid(problems: list[Problem]) -> InvalidInput:
    return InvalidInput(
        "The Consent is not valid.",
        issues=[Issue(f"{p.expression}: {p.message}", expression=p.expression) for p in problems],
    )


def _check(resource: dict[str, Any]) -> None:
    parsed = parse_consent(resource)
    if isinstance(parsed, list):
        raise _invalid(parsed)
    problems = validate_resource(resource)
    if problems:
        raise InvalidInput(
            "The Consent is not valid FHIR R4.",
            issues=[Issue(p, expression="Consent") for p in problems[:20]],
        )


async def _resolve_patient(
    conn: AsyncConnection, patient: dict[str, Any], *, now: datetime, client_id: str
) -> str:
    """The local Patient id the Consent is about (created bare if unknown by identifier)."""
    reference = patient.get("reference")
    if isinstance(reference, str) and reference.startswith("Patient/"):
        found = await fhir_store.read(conn, "Patient", reference.split("/", 1)[1])
        if found is None:
            raise InvalidInput(
                "The Consent's patient is not known here.",
                issues=[Issue("no such Patient", expression="Consent.patient.reference")],
            )
        return found.id
    ident = patient.get("identifier") or {}
    system, value = ident.get("system"), ident.get("value")
    if not (isinstance(system, str) and isinstance(value, str) and system and value):
        raise InvalidInput(
            "The Consent must name its patient by reference or by identifier (system and value).",
            issues=[Issue("system and value required", expression="Consent.patient.identifier")],
        )
    existing = await fhir_store.find_by_identifier(conn, "Patient", system, value)
    if existing:
        return existing[0]
    patient_id = str(uuid.uuid4())
    await fhir_store.create_resource(
        conn,
        {
            "resourceType": "Patient",
            "id": patient_id,
            "identifier": [{"system": system, "value": value}],
        },
        now=now,
        patient_id=patient_id,
        client_id=client_id,
    )
    return patient_id


async def file_consent(
    conn: AsyncConnection,
    resource: dict[str, Any],
    *,
    client_id: str,
    now: datetime,
    new_id: str,
    audit: AuditRecorder,
) -> dict[str, Any]:
    _check(resource)
    patient_id = await _resolve_patient(conn, resource["patient"], now=now, client_id=client_id)
    body = {
        **resource,
        "id": new_id,
        "patient": {**resource["patient"], "reference": f"Patient/{patient_id}"},
        "meta": {
            **(resource.get("meta") or {}),
            "source": f"urn:referral-gateway:client:{client_id}",
        },
    }
    stored = await fhir_store.create_resource(
        conn, body, now=now, patient_id=patient_id, client_id=client_id
    )
    await audit.consent_recorded(
        conn, consent_id=new_id, patient_id=patient_id, client_id=client_id, action="C", now=now
    )
    return stored


async def update_consent(
    conn: AsyncConnection,
    consent_id: str,
    resource: dict[str, Any],
    *,
    client_id: str,
    is_operator: bool,
    if_match: int | None,
    now: datetime,
    audit: AuditRecorder,
) -> dict[str, Any]:
    """Replace a Consent (status ``inactive`` revokes it); only its recorder or an operator."""
    current = await fhir_store.read(conn, "Consent", consent_id)
    if current is None or not (is_operator or current.client_id == client_id):
        raise NotFound(f"Consent/{consent_id} is not known.")
    if resource.get("id") not in (None, consent_id):
        raise InvalidInput(
            "The id in the body differs from the URL.", issues=[Issue("must match", "Consent.id")]
        )
    _check(resource)
    if if_match is not None and if_match != current.version_id:
        raise PreconditionFailed(f"Consent/{consent_id} is at version {current.version_id}.")
    same_person = (resource.get("patient") or {}).get("identifier") == (
        current.body.get("patient") or {}
    ).get("identifier") or (resource.get("patient") or {}).get("reference") == current.body[
        "patient"
    ].get("reference")
    if not same_person:
        raise Forbidden(
            "A Consent cannot be moved to another person.",
            issues=[Issue("must stay the same person", expression="Consent.patient")],
        )
    body = {
        **resource,
        "id": consent_id,
        "patient": current.body["patient"],
        "meta": {
            **(resource.get("meta") or {}),
            "source": current.body.get("meta", {}).get("source"),
        },
    }
    updated = await fhir_store.update_resource(
        conn, body, now=now, expected_version=current.version_id
    )
    if updated is None:
        raise PreconditionFailed(f"Consent/{consent_id} changed meanwhile; read it again.")
    await audit.consent_recorded(
        conn,
        consent_id=consent_id,
        patient_id=current.body["patient"]["reference"].split("/")[1],
        client_id=client_id,
        action="U",
        now=now,
        revoked=updated.get("status") == "inactive",
    )
    return updated
