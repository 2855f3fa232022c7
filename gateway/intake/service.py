"""Accept one triage result: validate, map, decide consent and routes, store, in ONE transaction.

The request path does no network I/O and builds no FHIR models: the Bundle is
plain data (``mappings.map_triage``) stored as the bytes the worker will send.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.engine import Decision, DecisionRequest, Recipient, decide
from consent.fhir_consent import consent_from_submission
from consent.summary import summarize
from consent.vocab import destination_category
from gateway.audit.recorder import AuditRecorder
from gateway.config import AnyDestination, CrisisDestination, GatewayConfig
from gateway.context import Clock, IdFactory
from gateway.errors import Conflict, Forbidden, InvalidInput, Issue
from gateway.intake.schema import ConsentReference, TriageSubmission
from gateway.intake.validate import check_semantics, parse_submission
from gateway.routing import Route, RoutingFacts, route
from gateway.store import fhir_store
from gateway.store.tables import deliveries, referrals
from gateway.tasks import destination_task, owner_reference
from mappings.explain import explain
from mappings.ids import resource_uuid
from mappings.instruments import get_instrument
from mappings.triage_to_fhir import MappingContext, map_triage

TREATMENT = "TREAT"
LANE_CRISIS, LANE_URGENT, LANE_ROUTINE = 0, 1, 2


@dataclass(frozen=True)
class Accepted:
    referral_id: str
    body: bytes
    replayed: bool


def _canonical(submission: TriageSubmission) -> dict[str, Any]:
    return submission.model_dump(mode="json", exclude_none=True)


def body_hash(canonical: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


def routing_facts(submission: TriageSubmission) -> RoutingFacts:
    severities: set[str] = set()
    signal = False
    for assessment in submission.assessments:
        instrument = get_instrument(assessment.instrument)
        answers: list[object] = list(assessment.answers)
        total = instrument.total(answers)
        band = instrument.severity(total) if total is not None else None
        if band is not None:
            severities.add(band.code)
        signal = signal or bool(instrument.positive_safety_items(answers))
    address = submission.patient.address
    return RoutingFacts(
        risk_level=submission.risk.level,
        pathway=submission.request.pathway,
        urgency=submission.request.urgency,
        severities=frozenset(severities),
        safety_signal=signal,
        state=address.state if address else None,
        postal_code=address.postal_code if address else None,
        language=submission.patient.preferred_language,
    )


def lane_for(destination: AnyDestination, submission: TriageSubmission) -> int:
    if isinstance(destination, CrisisDestination):
        return LANE_CRISIS
    if submission.request.urgency != "routine" or submission.risk.level in {"high", "imminent"}:
        return LANE_URGENT
    return LANE_ROUTINE


def data_labels(bundle: dict[str, Any]) -> frozenset[str]:
    labels = {
        label.get("code", "")
        for resource in fhir_store.resources_of(bundle)
        for label in (resource.get("meta") or {}).get("security", [])
    }
    return frozenset(labels - {""})


class IntakeService:
    def __init__(
        self, config: GatewayConfig, clock: Clock, new_id: IdFactory, audit: AuditRecorder
    ) -> None:
        self.config = config
        self.clock = clock
        self.new_id = new_id
        self.audit = audit

    async def accept(self, conn: AsyncConnection, body: bytes, client_id: str) -> Accepted:
        now = self.clock()
        submission = parse_submission(body)
        check_semantics(submission, today=now.date())
        canonical = _canonical(submission)
        digest = body_hash(canonical)
        replay = await self._replay(conn, client_id, submission.triage_id, digest)
        if replay is not None:
            return replay
        # A concurrent twin may win the unique (client_id, triage_id) race: the caller
        # then gets IntegrityError, and calling again answers as a replay.
        return await self._store_new(conn, submission, canonical, digest, client_id, now)

    async def _replay(
        self, conn: AsyncConnection, client_id: str, triage_id: str, digest: str
    ) -> Accepted | None:
        row = (
            await conn.execute(
                select(referrals.c.id, referrals.c.body_hash, referrals.c.response).where(
                    referrals.c.client_id == client_id, referrals.c.triage_id == triage_id
                )
            )
        ).first()
        if row is None:
            return None
        if row.body_hash != digest:
            raise Conflict(
                f"triage_id '{triage_id}' was already submitted with a different body.",
                issues=[Issue("already used with a different body", expression="triage_id")],
            )
        return Accepted(referral_id=row.id, body=row.response, replayed=True)

    async def _consent(
        self,
        conn: AsyncConnection,
        submission: TriageSubmission,
        canonical: dict[str, Any],
        *,
        referral_id: str,
        patient_ref: str,
        client_id: str,
        now: datetime,
    ) -> tuple[dict[str, Any], bool]:
        """The Consent in force for this submission, and whether it is new (to be stored)."""
        consent = submission.consent
        if isinstance(consent, ConsentReference):
            stored = await fhir_store.read(conn, "Consent", consent.consent_ref.split("/", 1)[1])
            if stored is None:
                raise InvalidInput(
                    "The referenced consent does not exist.",
                    issues=[Issue("no such Consent", expression="consent.consent_ref")],
                )
            if not _same_person(stored.body, patient_ref, submission):
                raise InvalidInput(
                    "The referenced consent belongs to someone else.",
                    issues=[Issue("not this patient's consent", expression="consent.consent_ref")],
                )
            return stored.body, False
        policy = self.config.consent.text_versions
        if policy and consent.accepted_text_version not in policy:
            raise InvalidInput(
                "The consent text version is not one this gateway uses.",
                issues=[Issue("unknown consent text", expression="consent.accepted_text_version")],
            )
        identifier = submission.patient.identifiers[0]
        resource = consent_from_submission(
            canonical["consent"],
            patient_ref=patient_ref,
            patient_identifier={"system": identifier.system, "value": identifier.value},
            recorded_at=_instant(now),
            consent_uuid=resource_uuid(referral_id, "consent"),
            client_id=client_id,
        )
        return resource, True

    async def _store_new(
        self,
        conn: AsyncConnection,
        submission: TriageSubmission,
        canonical: dict[str, Any],
        digest: str,
        client_id: str,
        now: datetime,
    ) -> Accepted:
        referral_id = self.new_id()
        bundle = map_triage(
            canonical, MappingContext(referral_id, client_id, received_at=_instant(now))
        )
        local_entries = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Task"]
        task_template = next(
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task"
        )
        patient_entry = next(
            e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
        )
        stored = await fhir_store.store_transaction(
            conn,
            {**bundle, "entry": local_entries},
            now=now,
            referral_id=referral_id,
            client_id=client_id,
        )
        patient_ref = stored.references[patient_entry["fullUrl"]]
        patient_id = patient_ref.split("/", 1)[1]

        consent, new_consent = await self._consent(
            conn,
            submission,
            canonical,
            referral_id=referral_id,
            patient_ref=patient_ref,
            client_id=client_id,
            now=now,
        )
        if new_consent:
            await fhir_store.create_resource(
                conn,
                consent,
                now=now,
                referral_id=referral_id,
                patient_id=patient_id,
                client_id=client_id,
            )

        decision = route(
            routing_facts(submission),
            self.config.routing,
            [d.name for d in self.config.crisis_destinations],
        )
        labels = data_labels(bundle)
        classes = frozenset(r["resourceType"] for r in fhir_store.resources_of(bundle))
        routing_out: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for chosen in decision.routes:
            destination = self.config.destination(chosen.destination)
            verdict = decide(
                [consent],
                DecisionRequest(
                    recipient=Recipient(
                        category=destination_category(
                            destination.type, destination.consent_category
                        ),
                        name=destination.name,
                    ),
                    purpose=TREATMENT,
                    data_labels=labels,
                    data_classes=classes,
                    risk_level=submission.risk.level,
                ),
                now,
            )
            await self.audit.consent_decision(
                conn,
                verdict,
                referral_id=referral_id,
                patient_id=patient_id,
                recipient=destination.name,
                client_id=client_id,
                now=now,
            )
            routing_out.append(_route_view(chosen, destination, verdict))
            if verdict.permit:
                rows.append(
                    await self._delivery_row(
                        conn,
                        referral_id,
                        patient_id,
                        client_id,
                        destination,
                        verdict,
                        task_template,
                        stored.references,
                        submission,
                        now,
                    )
                )
        if not rows:
            raise Forbidden(
                "The person's consent does not cover any destination this referral would go to.",
                issues=[
                    Issue(
                        "; ".join(r["reason"] for r in routing_out if r["decision"] == "deny")
                        or "no destination permitted",
                        expression="consent",
                        code="forbidden",
                    )
                ],
            )
        summary = summarize(consent, now=now)
        response = {
            "referral_id": referral_id,
            "triage_id": submission.triage_id,
            "status": "accepted",
            "routing": routing_out,
            "consent_id": f"Consent/{consent['id']}",
            "consent_summary": " ".join(
                [summary.headline, *summary.details, summary.withdraw]
            ).strip(),
            "consent_summary_layers": summary.to_dict(),
            "links": {"self": f"/referrals/{referral_id}"},
        }
        response_bytes = orjson.dumps(response)
        await conn.execute(
            insert(referrals).values(
                id=referral_id,
                client_id=client_id,
                triage_id=submission.triage_id,
                body_hash=digest,
                status="accepted",
                risk_level=submission.risk.level,
                pathway=submission.request.pathway,
                urgency=submission.request.urgency,
                patient_id=patient_id,
                consent_id=consent["id"],
                created_at=now,
                updated_at=now,
                bundle=orjson.dumps(bundle),
                response=response_bytes,
                routing=orjson.dumps(decision.to_dict()),
                explanation=orjson.dumps(explain(canonical)),
            )
        )
        await conn.execute(insert(deliveries), rows)
        await self.audit.received(
            conn, referral_id=referral_id, patient_id=patient_id, client_id=client_id, now=now
        )
        return Accepted(referral_id=referral_id, body=response_bytes, replayed=False)

    async def _delivery_row(
        self,
        conn: AsyncConnection,
        referral_id: str,
        patient_id: str,
        client_id: str,
        destination: AnyDestination,
        verdict: Decision,
        task_template: dict[str, Any],
        references: dict[str, str],
        submission: TriageSubmission,
        now: datetime,
    ) -> dict[str, Any]:
        task = destination_task(task_template, referral_id, destination.name, references)
        await fhir_store.create_resource(
            conn,
            task,
            now=now,
            referral_id=referral_id,
            patient_id=patient_id,
            client_id=client_id,
            owner=owner_reference(destination.name),
            published=False,
        )
        return {
            "id": self.new_id(),
            "referral_id": referral_id,
            "destination": destination.name,
            "lane": lane_for(destination, submission),
            "status": "pending",
            "purpose": verdict.purpose,
            "attempts": 0,
            "next_attempt_at": now - timedelta(seconds=1),
            "task_id": task["id"],
            "created_at": now,
            "updated_at": now,
        }


def _route_view(chosen: Route, destination: AnyDestination, verdict: Decision) -> dict[str, Any]:
    view: dict[str, Any] = {
        "destination": chosen.destination,
        "type": destination.type,
        "reason": chosen.reason,
        "rules": list(chosen.rules),
        "decision": "permit" if verdict.permit else "deny",
        "consent_reason": verdict.reason,
        "purpose": verdict.purpose,
    }
    if verdict.emergency:
        view["emergency"] = True
    if not verdict.permit:
        view["skipped"] = True
    return view


def _same_person(consent: dict[str, Any], patient_ref: str, submission: TriageSubmission) -> bool:
    patient = consent.get("patient") or {}
    if patient.get("reference") == patient_ref:
        return True
    ident = patient.get("identifier") or {}
    return any(
        ident.get("system") == i.system and ident.get("value") == i.value
        for i in submission.patient.identifiers
    )


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
