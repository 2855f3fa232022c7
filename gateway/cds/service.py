"""The ``patient-view`` CDS service: which open referrals does this person have?

CDS Hooks 2.0 §"Providing FHIR Resources to a CDS Service": the Patient comes from the
``patient`` prefetch (``null`` there means the EHR has none: no cards); when the key is
absent the service reads it from ``fhirServer`` itself; when it can do neither, 412.
The person is matched by the Patient's identifiers. Each card shown is recorded as a
disclosure to that EHR (a BALP AuditEvent, so it is in the person's accounting of
disclosures) and as a card issued (so feedback can name it), in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit import balp
from gateway.audit.recorder import AuditRecorder, PendingEntry, append_entries, patient_ref
from gateway.cds.cards import build_card, card_uuid
from gateway.cds.disclosure import TREATMENT, ehr_view
from gateway.cds.hook_request import HookRequest
from gateway.cds.records import StoredReferral, open_referrals, patient_ids_for, record_card
from gateway.cds.trust import CdsCaller
from gateway.context import Clock, fhir_instant
from gateway.errors import Issue, MalformedRequest, PreconditionFailed
from gateway.logging import get_logger

log = get_logger("gateway.cds")
PREFETCH_KEY = "patient"
CDS_CLIENT_SYSTEM = "urn:referral-gateway:cds-client"


class PatientReader(Protocol):
    """Reads a Patient from a CDS Client's FHIR server; ``None`` when it cannot."""

    async def read_patient(
        self, fhir_server: str, patient_id: str, access_token: str | None
    ) -> dict[str, Any] | None: ...


@dataclass
class PatientViewService:
    engine: AsyncEngine
    audit: AuditRecorder
    clock: Clock
    public_url: str
    patients: PatientReader

    async def cards(self, request: HookRequest, caller: CdsCaller) -> list[dict[str, Any]]:
        patient = await self._patient(request)
        identifiers = _identifiers(patient) if patient else []
        now = self.clock()
        cards: list[dict[str, Any]] = []
        async with self.engine.begin() as conn:
            ids = await patient_ids_for(conn, identifiers)
            pending: list[PendingEntry] = []
            for stored in await open_referrals(conn, ids):
                view = ehr_view(
                    stored.bundle,
                    stored.consent,
                    recipient=caller.client.label,
                    risk_level=stored.referral.risk_level,
                    now=now,
                )
                if view.bundle is None:
                    continue
                card = build_card(stored.referral, view.bundle, public_url=self.public_url)
                cards.append(card)
                await record_card(conn, card["uuid"], caller.iss, stored.referral, now)
                pending.append(self._disclosure(caller, stored.patient_id, card, stored, now))
            if pending:
                await append_entries(conn, pending, now=now)
        log.info("cds.cards_shown", client_id=caller.iss, count=len(cards))
        return cards

    async def _patient(self, request: HookRequest) -> dict[str, Any] | None:
        prefetch = request.prefetch or {}
        if PREFETCH_KEY in prefetch:
            patient = prefetch[PREFETCH_KEY]
            if patient is None:
                return None
            return _checked(patient, request.context.patientId)
        if request.fhirServer is None:
            raise PreconditionFailed(
                "Neither the 'patient' prefetch nor fhirServer access was given.",
                issues=[Issue("the Patient cannot be obtained", expression="prefetch.patient")],
            )
        token = request.fhirAuthorization.access_token if request.fhirAuthorization else None
        patient = await self.patients.read_patient(
            request.fhirServer, request.context.patientId, token
        )
        if patient is None:
            raise PreconditionFailed(
                "The Patient could not be read from fhirServer.",
                issues=[Issue("the FHIR server did not give the Patient", expression="fhirServer")],
            )
        return _checked(patient, request.context.patientId)

    def _disclosure(
        self,
        caller: CdsCaller,
        patient_id: str,
        card: dict[str, Any],
        stored: StoredReferral,
        now: datetime,
    ) -> PendingEntry:
        referral_id = stored.referral.referral_id
        entry = balp.disclosure(
            recorded=fhir_instant(now),
            gateway=self.audit.gateway,
            recipient=balp.Party(
                who={
                    "identifier": {"system": CDS_CLIENT_SYSTEM, "value": caller.iss},
                    "display": f"EHR {caller.client.label} (CDS Hooks card)",
                }
            ),
            patient=patient_ref(patient_id),
            purpose=TREATMENT,
            data=[
                {
                    "identifier": {"system": "urn:referral-gateway:referral", "value": referral_id},
                    "display": f"CDS Hooks card {card_uuid(referral_id)}: {card['summary']}",
                }
            ],
        )
        return PendingEntry(entry, "disclosure", referral_id, patient_id)


def _checked(patient: Any, patient_id: str) -> dict[str, Any]:
    if isinstance(patient, dict) and patient.get("resourceType") == "Bundle":
        # a client that satisfied the template by a search: its Patient entry
        found = [e.get("resource") for e in patient.get("entry") or [] if isinstance(e, dict)]
        patient = next((r for r in found if isinstance(r, dict)), None)
        if patient is None:
            return {"resourceType": "Patient", "id": patient_id}
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise MalformedRequest(
            "The 'patient' prefetch is not a Patient.",
            issues=[Issue("not a FHIR Patient", expression="prefetch.patient")],
        )
    if patient.get("id") not in (None, patient_id):
        raise MalformedRequest(
            "The prefetched Patient is not the one in context.patientId.",
            issues=[Issue("not context.patientId", expression="prefetch.patient.id")],
        )
    return patient


def _identifiers(patient: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for identifier in patient.get("identifier") or []:
        if not isinstance(identifier, dict):
            continue
        system, value = identifier.get("system"), identifier.get("value")
        if isinstance(system, str) and isinstance(value, str) and system and value:
            found.append((system, value))
    return found[:20]
