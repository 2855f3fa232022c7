"""Accept triage results: validate, score, map, route, decide, store in ONE transaction.

``prepare`` needs no database: validate (``validate``), score the answers once
(``mappings.scoring``), map (``mappings.map_triage``) and route (``facts`` ->
``gateway.routing``). ``write`` plans each submission in named steps: link its
resources to what is stored (``linking``), find the consent in force
(``consent_in_force``), decide each route through the disclosure decision point
(``routes`` -> ``gateway.disclosure``), then the rows (``records``) and the audit.
The request path does no network I/O and builds no FHIR models: the Bundle is plain
data stored as the bytes the worker will send.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit.recorder import AuditRecorder, PendingEntry, append_entries
from gateway.config import GatewayConfig
from gateway.context import Clock, IdFactory, fhir_instant
from gateway.disclosure import ReferralFacts
from gateway.errors import Conflict, GatewayError, Issue
from gateway.fhir_task import destination_task, owner_reference
from gateway.intake.consent_in_force import consent_in_force, referenced_consent_id
from gateway.intake.facts import routing_facts
from gateway.intake.linking import Linked, NaturalKey, link_resources, local_entries, task_template
from gateway.intake.paused import route_paused_to_people
from gateway.intake.records import accepted_response, delivery_row, referral_row
from gateway.intake.routes import (
    LANE_CRISIS,
    DecidedRoute,
    decide_routes,
    lane_for,
    refuse_unless_any_permitted,
)
from gateway.intake.schema import TriageSubmission
from gateway.intake.validate import check_semantics, parse_submission
from gateway.routing import RoutingDecision, route
from gateway.store import fhir_store
from gateway.store.tables import deliveries, referrals
from mappings.scoring import ScoredAssessment, score_triage
from mappings.triage_to_fhir import MappingContext, map_triage

__all__ = ["LANE_CRISIS", "Accepted", "IntakeService", "Prepared", "body_hash", "lane_for"]


@dataclass(frozen=True)
class Accepted:
    referral_id: str
    body: bytes
    replayed: bool


def _canonical(submission: TriageSubmission) -> dict[str, Any]:
    return submission.model_dump(mode="json", exclude_none=True)


def body_hash(canonical: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class Prepared:
    """A validated, mapped and routed submission, waiting to be written."""

    client_id: str
    submission: TriageSubmission
    canonical: dict[str, Any]
    digest: str
    referral_id: str
    now: datetime
    scored: tuple[ScoredAssessment, ...]
    """The assessments scored once; routing, the Bundle and the explanation all use these."""
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
        scored = score_triage(canonical)
        model = submission.model
        context = MappingContext(
            referral_id,
            client_id,
            received_at=fhir_instant(now),
            model_card_url=self.model_card_url(model.name, model.version) if model else None,
        )
        return Prepared(
            client_id=client_id,
            submission=submission,
            canonical=canonical,
            digest=body_hash(canonical),
            referral_id=referral_id,
            now=now,
            scored=scored,
            bundle=map_triage(canonical, context, scored),
            decision=route(
                routing_facts(submission, scored),
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
            conn, [e for i in fresh for e in local_entries(items[i].bundle)]
        )
        consents = await self._referenced_consents(conn, [items[i] for i in fresh])
        await route_paused_to_people(conn, self.config, [items[i] for i in fresh])
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
        ids = [i for i in map(referenced_consent_id, (item.submission for item in items)) if i]
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
        created: dict[NaturalKey, str],
        consents: dict[str, dict[str, Any]],
    ) -> _Written:
        """Plan one submission's rows; raise the GatewayError it earns (nothing planned then)."""
        linked = link_resources(
            item.bundle,
            matches,
            created,
            now=item.now,
            referral_id=item.referral_id,
            client_id=item.client_id,
        )
        consent = consent_in_force(
            item.submission,
            item.canonical,
            stored=consents,
            patient_ref=f"Patient/{linked.patient_id}",
            text_versions=self.config.consent.text_versions,
            referral_id=item.referral_id,
            client_id=item.client_id,
            now=item.now,
        )
        if consent.is_new:
            self._add_row(linked, item, consent.resource)
        decided = decide_routes(
            self.config,
            item.decision,
            consent.resource,
            ReferralFacts.of(item.bundle, item.submission.risk.level),
            item.now,
        )
        refuse_unless_any_permitted(decided)
        response = accepted_response(item, decided, consent.resource)
        return _Written(
            rows=linked.rows,
            refreshes=linked.refreshes,
            referral=referral_row(item, linked.patient_id, consent.resource["id"], response),
            deliveries=self._deliveries(item, linked, decided),
            audit=self._audit(item, linked.patient_id, decided),
            created=linked.new_keys,
            accepted=Accepted(referral_id=item.referral_id, body=response, replayed=False),
        )

    @staticmethod
    def _add_row(
        linked: Linked, item: Prepared, resource: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return linked.rows.add(
            resource,
            referral_id=item.referral_id,
            patient_id=linked.patient_id,
            client_id=item.client_id,
            **extra,
        )

    def _deliveries(
        self, item: Prepared, linked: Linked, decided: list[DecidedRoute]
    ) -> list[dict[str, Any]]:
        """A Task (unpublished until sent) and an outbox row per permitted destination."""
        template = task_template(item.bundle)
        rows = []
        for chosen in decided:
            if not chosen.disclosure.permit:
                continue
            name = chosen.destination.name
            task = destination_task(template, item.referral_id, name, linked.references)
            self._add_row(linked, item, task, owner=owner_reference(name), published=False)
            rows.append(
                delivery_row(
                    item,
                    chosen,
                    delivery_id=self.new_id(),
                    lane=lane_for(chosen.destination, item.submission),
                    task_id=task["id"],
                )
            )
        return rows

    def _audit(
        self, item: Prepared, patient_id: str, decided: list[DecidedRoute]
    ) -> list[PendingEntry]:
        """The submission received, then each route's consent decision."""
        ids = {"referral_id": item.referral_id, "patient_id": patient_id}
        return [
            self.audit.received_entry(**ids, client_id=item.client_id, now=item.now),
            *(
                self.audit.consent_decision_entry(
                    chosen.disclosure.decision,
                    **ids,
                    recipient=chosen.disclosure.audit.recipient,
                    client_id=item.client_id,
                    now=item.now,
                )
                for chosen in decided
            ),
        ]

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


def _replay_or_conflict(
    item: Prepared, referral_id: str, digest: str, response: bytes
) -> Accepted | GatewayError:
    if digest != item.digest:
        return Conflict(
            f"triage_id '{item.submission.triage_id}' was already submitted with a different body.",
            issues=[Issue("already used with a different body", expression="triage_id")],
        )
    return Accepted(referral_id=referral_id, body=response, replayed=True)
