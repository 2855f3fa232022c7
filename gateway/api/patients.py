"""A person's rights: accounting of disclosures, export, erasure (CONTRACT.md).

The person is named by one identifier, ``{system}|{value}``, raw or percent-encoded.
Reads need ``system/*.rs`` (an operator) or ``system/AuditEvent.rs``; ``DELETE``
needs ``system/Patient.d``. Every export and erasure is itself audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gateway.api.deps import get_services
from gateway.auth.access_tokens import Principal
from gateway.auth.dependencies import Authenticator
from gateway.errors import InvalidInput, Issue, NotFound
from gateway.json import FhirJSONResponse, ORJSONResponse
from gateway.patient_rights import (
    PersonKey,
    accounting,
    erase,
    export_bundle,
    patient_ids,
    record_export,
)
from gateway.services import Services

router = APIRouter(tags=["patient rights"])
_reader = Authenticator(any_of=["system/*.rs", "system/AuditEvent.rs"])
_eraser = Authenticator("system/Patient.d")


def _person(identifier: str) -> PersonKey:
    person = PersonKey.parse(identifier)
    if person is None:
        raise InvalidInput(
            "Name the person as {system}|{value}.",
            issues=[Issue("expected {system}|{value}", expression="identifier")],
        )
    return person


async def _ids(services: Services, person: PersonKey) -> list[str]:
    async with services.engine.connect() as conn:
        ids = await patient_ids(conn, person, services.settings.audit_hash_key)
    if not ids:
        raise NotFound("Nothing is held about that person.")
    return ids


@router.get("/patients/{identifier:path}/disclosures", response_class=ORJSONResponse)
async def disclosures(
    identifier: str,
    services: Annotated[Services, Depends(get_services)],
    _principal: Annotated[Principal, Depends(_reader)],
) -> dict[str, Any]:
    """Date, recipient, what and why, for every disclosure made about the person."""
    person = _person(identifier)
    ids = await _ids(services, person)
    async with services.engine.connect() as conn:
        rows = await accounting(conn, ids)
    return {"patient": {"system": person.system, "value": person.value}, "disclosures": rows}


@router.get("/patients/{identifier:path}/export", response_class=FhirJSONResponse)
async def export(
    identifier: str,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_reader)],
) -> dict[str, Any]:
    """Everything held about the person, as a FHIR Bundle."""
    ids = await _ids(services, _person(identifier))
    now = services.clock()
    async with services.engine.begin() as conn:
        bundle = await export_bundle(conn, ids, now=now, public_url=services.settings.public_url)
        await record_export(
            conn,
            services.audit,
            ids=ids,
            client_id=principal.client_id,
            count=len(bundle["entry"]),
            now=now,
        )
    return bundle


@router.delete("/patients/{identifier:path}", response_class=ORJSONResponse)
async def erase_person(
    identifier: str,
    services: Annotated[Services, Depends(get_services)],
    principal: Annotated[Principal, Depends(_eraser)],
) -> dict[str, Any]:
    """Erase what may be erased, keep what must be kept, and say which is which."""
    person = _person(identifier)
    ids = await _ids(services, person)
    async with services.engine.begin() as conn:
        return await erase(
            conn,
            person,
            ids,
            hash_key=services.settings.audit_hash_key,
            audit=services.audit,
            client_id=principal.client_id,
            now=services.clock(),
        )
