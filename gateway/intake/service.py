"""Accept triage results: validate, map, decide consent and routes, store in ONE transaction.

The request path does no network I/O and builds no FHIR models: the Bundle is
plain data (``mappings.map_triage``) stored as the bytes the worker will send.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.engine import Decision, DecisionRequest, Recipient, decide
from consent.fhir_consent import consent_from_submission
from consent.summary import summarize
from consent.vocab import destination_category
from gateway.audit.recorder import AuditRecorder, PendingEntry, append_entries
from gateway.config import AnyDestination, CrisisDestination, GatewayConfig
from gateway.context import Clock, IdFactory, fhir_instant
from gateway.errors import Conflict, Forbidden, GatewayError, InvalidInput, Issue
from gateway.intake.schema import ConsentReference, TriageSubmission
from gateway.intake.validate import check_semantics, parse_submission
from gateway.routing import Route, RoutingDecision, RoutingFacts, route
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


@dataclass
class Prepared:
    """A validated, mapped and routed submission, waiting to be written."""

    client_id: str
    submission: TriageSubmission
    canonical: dict[str, Any]
    digest: str
    referral_id: str
    now: datetime
    bundle: dict[str, Any]
    decision: RoutingDecision

    @property
    def key(self) -> tuple[str, str]:
        return (self.client_id, self.submission.triage_id)


@dataclass
class _Written:
    """What one accepted item adds to the batch's statements."""

    rows: fhir_store.RowBuffer
    refreshes: list[tuple[str, str, dict[str, Any]]]
    referral: dict[str, Any]
    deliveries: list[dict[str, Any]]
    audit: list[PendingEntry]
    created: dict[tuple[str, str, str], str]
    accepted: Accepted


class IntakeService:
    """Accepts triage results; many may be written in one transaction (see ``write``)."""

    def __init__(
        self,
        config: GatewayConfig,
        clock: Clock,
        new_id: IdFactory,
        audit: AuditRecorder,
        *,
        model_card_url: Callable[[str, str], str | None] = lambda _name, _version: None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.new_id = new_id
        self.audit = audit
        self.model_card_url = model_card_url

    def prepare(self, body: bytes, client_id: str) -> Prepared:
        """Everything that needs no database: validate, compute totals, map, route."""
        now = self.clock()
        submission = parse_submission(body)
        check_semantics(submission, today=now.date())
        canonical = _canonical(submission)
        referral_id = self.new_id()
        return Prepared(
            client_id=client_id,
            submission=submission,
            canonical=canonical,
            digest=body_hash(canonical),
            referral_id=referral_id,
            now=now,
            bundle=map_triage(
                canonical,
                MappingContext(
                    referral_id,
                    client_id,
                    received_at=fhir_instant(now),
                    model_card_url=self.model_card_url(model.name, model.version)
                    if (model := submission.model)
                    else None,
                ),
            ),
            decision=route(
                routing_facts(submission),
                self.config.routing,
                [d.name for d in self.config.crisis_destinations],
            ),
        )

    async def accept(self, conn: AsyncConnection, body: bytes, client_id: str) -> Accepted:
        """Accept one submission on ``conn``; raises the error it earns."""
        [result] = await self.write(conn, [self.prepare(body, client_id)])
        if isinstance(result, GatewayError):
            raise result
        return result

    async def write(
        self, conn: AsyncConnection, items: list[Prepared]
    ) -> list[Accepted | GatewayError]:
        """Write ``items`` on one transaction: each is accepted whole or refused whole.

        The reads are batched (idempotency, conditional matches, referenced consents)
        and so are the writes, so a batch costs about what one submission costs. A
        concurrent twin in another process may still win the unique
        ``(client_id, triage_id)``: the commit then fails with IntegrityError and the
        caller writes the items again one by one, when each answers as a replay.
        """
        results: list[Accepted | GatewayError | None] = [None] * len(items)
        existing = await self._existing(conn, [item.key for item in items])
        fresh: list[int] = []
        first_of: dict[tuple[str, str], int] = {}
        for index, item in enumerate(items):
            if item.key in existing:
                results[index] = _replay_or_conflict(item, *existing[item.key])
            elif item.key in first_of:
                continue  # settled below from its twin's outcome
            else:
                first_of[item.key] = index
                fresh.append(index)
        matches = await fhir_store.conditional_matches(
            conn, [e for i in fresh for e in _local_entries(items[i].bundle)]
        )
        consents = await self._referenced_consents(conn, [items[i] for i in fresh])
        created: dict[tuple[str, str, str], str] = {}
        written: list[_Written] = []
        for index in fresh:
            try:
                done = self._one(items[index], matches, created, consents)
            except GatewayError as error:
                results[index] = error
                continue
            created.update(done.created)
            written.append(done)
            results[index] = done.accepted
        for index, item in enumerate(items):
            if results[index] is None:
                twin = results[first_of[item.key]]
                twin_item = items[first_of[item.key]]
                results[index] = (
                    twin
                    if not isinstance(twin, Accepted)
                    else _replay_or_conflict(item, twin.referral_id, twin_item.digest, twin.body)
                )
        await self._flush(conn, written)
        return [r for r in results if r is not None]

    async def _existing(
        self, conn: AsyncConnection, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, str, bytes]]:
        rows = await conn.execute(
            select(
                referrals.c.client_id,
                referrals.c.triage_id,
                referrals.c.id,
                referrals.c.body_hash,
                referrals.c.response,
            ).where(
                or_(
                    *(and_(referrals.c.client_id == c, referrals.c.triage_id == t) for c, t in keys)
                )
            )
        )
        return {(r.client_id, r.triage_id): (r.id, r.body_hash, r.response) for r in rows}

    async def _referenced_consents(
        self, conn: AsyncConnection, items: list[Prepared]
    ) -> dict[str, dict[str, Any]]:
        ids = [
            item.submission.consent.consent_ref.split("/", 1)[1]
            for item in items
            if isinstance(item.submission.consent, ConsentReference)
        ]
        if not ids:
            return {}
        _total, found = await fhir_store.search(
            conn,
            fhir_store.SearchQuery(
                resource_type="Consent", ids=ids, only_published=False, count=len(ids)
            ),
        )
        return {r.id: r.body for r in found}

    def _one(
        self,
        item: Prepared,
        matches: dict[str, str],
        created: dict[tuple[str, str, str], str],
        consents: dict[str, dict[str, Any]],
    ) -> _Written:
        """Plan one submission's rows; raise the GatewayError it earns (nothing planned then)."""
        now, referral_id, client_id = item.now, item.referral_id, item.client_id
        entries = _local_entries(item.bundle)
        references: dict[str, str] = {}
        refreshes: list[tuple[str, str, dict[str, Any]]] = []
        new_keys: dict[tuple[str, str, str], str] = {}
        reused: set[str] = set()
        for entry in entries:
            rtype = entry["resource"]["resourceType"]
            key = fhir_store.natural_key(entry)
            existing_id = matches.get(entry["fullUrl"]) or (created.get(key) if key else None)
            if existing_id is not None:
                reused.add(entry["fullUrl"])
                references[entry["fullUrl"]] = f"{rtype}/{existing_id}"
                if rtype in fhir_store.REFRESHED_ON_MATCH:
                    refreshes.append((rtype, existing_id, entry["resource"]))
            else:
                local_id = entry["fullUrl"].removeprefix("urn:uuid:")
                references[entry["fullUrl"]] = f"{rtype}/{local_id}"
                if key:
                    new_keys[key] = local_id
        patient_id = next(
            ref.split("/", 1)[1] for ref in references.values() if ref.startswith("Patient/")
        )
        rows = fhir_store.RowBuffer(now)
        for entry in entries:
            if entry["fullUrl"] in reused:
                continue
            rid = references[entry["fullUrl"]].split("/", 1)[1]
            rows.add(
                fhir_store.rewrite_references({**entry["resource"], "id": rid}, references),
                referral_id=referral_id,
                patient_id=patient_id,
                client_id=client_id,
            )
        refreshes = [
            (rtype, rid, fhir_store.rewrite_references(resource, references))
            for rtype, rid, resource in refreshes
        ]
        consent, is_new = self._consent(item, consents, patient_ref=f"Patient/{patient_id}")
        if is_new:
            rows.add(consent, referral_id=referral_id, patient_id=patient_id, client_id=client_id)
        task_template = next(
            e["resource"] for e in item.bundle["entry"] if e["resource"]["resourceType"] == "Task"
        )
        labels = data_labels(item.bundle)
        classes = frozenset(r["resourceType"] for r in fhir_store.resources_of(item.bundle))
        routing_out: list[dict[str, Any]] = []
        delivery_rows: list[dict[str, Any]] = []
        audit = [
            self.audit.received_entry(
                referral_id=referral_id, patient_id=patient_id, client_id=client_id, now=now
            )
        ]
        for chosen in item.decision.routes:
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
                    risk_level=item.submission.risk.level,
                ),
                now,
            )
            audit.append(
                self.audit.consent_decision_entry(
                    verdict,
                    referral_id=referral_id,
                    patient_id=patient_id,
                    recipient=destination.name,
                    client_id=client_id,
                    now=now,
                )
            )
            routing_out.append(_route_view(chosen, destination, verdict))
            if verdict.permit:
                task = destination_task(task_template, referral_id, destination.name, references)
                rows.add(
                    task,
                    referral_id=referral_id,
                    patient_id=patient_id,
                    client_id=client_id,
                    owner=owner_reference(destination.name),
                    published=False,
                )
                delivery_rows.append(self._delivery_row(item, destination, verdict, task["id"]))
        if not delivery_rows:
            raise Forbidden(
                "The person's consent does not cover any destination this referral would go to.",
                issues=[
                    Issue(
                        "; ".join(r["consent_reason"] for r in routing_out)
                        or "no destination permitted",
                        expression="consent",
                        code="forbidden",
                    )
                ],
            )
        summary = summarize(consent, now=now)
        response = orjson.dumps(
            {
                "referral_id": referral_id,
                "triage_id": item.submission.triage_id,
                "status": "accepted",
                "routing": routing_out,
                "consent_id": f"Consent/{consent['id']}",
                "consent_summary": " ".join(
                    [summary.headline, *summary.details, summary.withdraw]
                ).strip(),
                "consent_summary_layers": summary.to_dict(),
                "links": {"self": f"/referrals/{referral_id}"},
            }
        )
        referral = {
            "id": referral_id,
            "client_id": client_id,
            "triage_id": item.submission.triage_id,
            "body_hash": item.digest,
            "status": "accepted",
            "risk_level": item.submission.risk.level,
            "pathway": item.submission.request.pathway,
            "urgency": item.submission.request.urgency,
            "patient_id": patient_id,
            "consent_id": consent["id"],
            "created_at": now,
            "updated_at": now,
            "bundle": orjson.dumps(item.bundle),
            "response": response,
            "routing": orjson.dumps(item.decision.to_dict()),
            "explanation": orjson.dumps(explain(item.canonical)),
        }
        return _Written(
            rows=rows,
            refreshes=refreshes,
            referral=referral,
            deliveries=delivery_rows,
            audit=audit,
            created=new_keys,
            accepted=Accepted(referral_id=referral_id, body=response, replayed=False),
        )

    def _consent(
        self, item: Prepared, consents: dict[str, dict[str, Any]], *, patient_ref: str
    ) -> tuple[dict[str, Any], bool]:
        """The Consent in force, and whether it is new (made from the inline consent)."""
        submission = item.submission
        consent = submission.consent
        if isinstance(consent, ConsentReference):
            stored = consents.get(consent.consent_ref.split("/", 1)[1])
            if stored is None:
                raise InvalidInput(
                    "The referenced consent does not exist.",
                    issues=[Issue("no such Consent", expression="consent.consent_ref")],
                )
            if not _same_person(stored, patient_ref, submission):
                raise InvalidInput(
                    "The referenced consent belongs to someone else.",
                    issues=[Issue("not this patient's consent", expression="consent.consent_ref")],
                )
            return stored, False
        policy = self.config.consent.text_versions
        if policy and consent.accepted_text_version not in policy:
            raise InvalidInput(
                "The consent text version is not one this gateway uses.",
                issues=[Issue("unknown consent text", expression="consent.accepted_text_version")],
            )
        identifier = submission.patient.identifiers[0]
        resource = consent_from_submission(
            item.canonical["consent"],
            patient_ref=patient_ref,
            patient_identifier={"system": identifier.system, "value": identifier.value},
            recorded_at=fhir_instant(item.now),
            consent_uuid=resource_uuid(item.referral_id, "consent"),
            client_id=item.client_id,
        )
        return resource, True

    async def _flush(self, conn: AsyncConnection, written: list[_Written]) -> None:
        if not written:
            return
        rows = fhir_store.RowBuffer(written[0].referral["created_at"])
        for done in written:
            rows.extend(done.rows)
        await rows.flush(conn)
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for done in written:  # several submissions for one person: one update, newest wins
            for rtype, rid, resource in done.refreshes:
                earlier = latest.get((rtype, rid), {}).get("identifier")
                identifiers = fhir_store.merge_identifiers(resource.get("identifier"), earlier)
                latest[(rtype, rid)] = {**resource, "identifier": identifiers}
        now = written[-1].referral["created_at"]
        for (rtype, rid), resource in latest.items():
            await fhir_store.refresh(conn, rtype, rid, resource, now)
        await conn.execute(insert(referrals), [done.referral for done in written])
        await conn.execute(insert(deliveries), [d for done in written for d in done.deliveries])
        await append_entries(
            conn,
            [e for done in written for e in done.audit],
            now=written[-1].referral["created_at"],
        )

    def _delivery_row(
        self, item: Prepared, destination: AnyDestination, verdict: Decision, task_id: str
    ) -> dict[str, Any]:
        return {
            "id": self.new_id(),
            "referral_id": item.referral_id,
            "destination": destination.name,
            "lane": lane_for(destination, item.submission),
            "status": "pending",
            "purpose": verdict.purpose,
            "attempts": 0,
            "next_attempt_at": item.now - timedelta(seconds=1),
            "task_id": task_id,
            "created_at": item.now,
            "updated_at": item.now,
        }


def _local_entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entry but the Task template: each destination gets its own Task."""
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Task"]


def _replay_or_conflict(
    item: Prepared, referral_id: str, digest: str, response: bytes
) -> Accepted | GatewayError:
    if digest != item.digest:
        return Conflict(
            f"triage_id '{item.submission.triage_id}' was already submitted with a different body.",
            issues=[Issue("already used with a different body", expression="triage_id")],
        )
    return Accepted(referral_id=referral_id, body=response, replayed=True)


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
