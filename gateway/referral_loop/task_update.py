"""A requester's or recipient's update of a referral Task (``PUT`` / ``PATCH /fhir/Task``).

FHIR R4 "update" and "patch" (http.html#update, http.html#concurrency): the caller
names the version it changed with ``If-Match: W/"<versionId>"``; a stale version is
412 Precondition Failed. The gateway requires ``If-Match`` on every Task update and
answers 412 when it is missing (docs/closing-the-loop.md), so no change is ever
made blind. The rules of who may set which status are in ``task_rules``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit.recorder import AuditRecorder, append_entry
from gateway.config import GatewayConfig
from gateway.context import fhir_instant
from gateway.errors import BusinessRuleViolation, InvalidInput, Issue, NotFound, PreconditionFailed
from gateway.notify import task_changed
from gateway.referral_loop.json_patch import PatchError, apply_patch
from gateway.referral_loop.loop_audit import task_update_event
from gateway.referral_loop.milestones import task_destination
from gateway.referral_loop.task_rules import Role, update_problems
from gateway.store import fhir_store
from gateway.store.fhir_store import StoredResource, etag_version


@dataclass(frozen=True)
class Caller:
    client_id: str
    is_operator: bool
    destinations: frozenset[str] = frozenset()
    """A console recipient's destinations: it acts as the recipient of their Tasks."""


def roles_of(config: GatewayConfig, stored: StoredResource, caller: Caller) -> frozenset[Role]:
    """The requester is the submitting app; the recipient acts for the Task's owner."""
    if caller.is_operator:
        return frozenset(Role)
    roles = set()
    if stored.client_id == caller.client_id:
        roles.add(Role.REQUESTER)
    destination = task_destination(stored.body)
    if stored.published and (
        destination in caller.destinations
        or any(d.name == destination and caller.client_id in d.clients for d in config.destinations)
    ):
        roles.add(Role.RECIPIENT)
    return frozenset(roles)


def expected_version(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionFailed(
            'If-Match is required: send the ETag of the version you changed (W/"<versionId>")'
        )
    version = etag_version(if_match)
    if version is None:
        raise PreconditionFailed(f"If-Match '{if_match}' is not an ETag like W/\"3\"")
    return version


class TaskUpdater:
    """Checks and stores one Task update, audits it, and hands it to ``task_changed``."""

    def __init__(self, config: GatewayConfig, audit: AuditRecorder) -> None:
        self.config = config
        self.audit = audit

    async def put(
        self,
        conn: AsyncConnection,
        task_id: str,
        proposed: Any,
        *,
        if_match: str | None,
        caller: Caller,
        now: datetime,
    ) -> dict[str, Any]:
        stored = await self._load(conn, task_id, caller)
        return await self._store(conn, stored, proposed, if_match, caller, now, "update")

    async def patch(
        self,
        conn: AsyncConnection,
        task_id: str,
        operations: Any,
        *,
        if_match: str | None,
        caller: Caller,
        now: datetime,
    ) -> dict[str, Any]:
        stored = await self._load(conn, task_id, caller)
        try:
            proposed = apply_patch(stored.body, operations)
        except PatchError as exc:
            raise InvalidInput(f"JSON Patch: {exc}", issues=[Issue(str(exc), "Task")]) from None
        return await self._store(conn, stored, proposed, if_match, caller, now, "patch")

    async def _load(self, conn: AsyncConnection, task_id: str, caller: Caller) -> StoredResource:
        stored = await fhir_store.read(conn, "Task", task_id)
        if stored is None or not roles_of(self.config, stored, caller):
            raise NotFound(f"Task/{task_id} is not known.")
        return stored

    async def _store(
        self,
        conn: AsyncConnection,
        stored: StoredResource,
        proposed: Any,
        if_match: str | None,
        caller: Caller,
        now: datetime,
        interaction: str,
    ) -> dict[str, Any]:
        version = expected_version(if_match)
        if version != stored.version_id:
            raise PreconditionFailed(
                f"Task/{stored.id} is at version {stored.version_id}, not {version}"
            )
        if not isinstance(proposed, dict):
            raise InvalidInput("the body must be a Task", issues=[Issue("not a Task", "Task")])
        if proposed.get("id", stored.id) != stored.id:
            raise InvalidInput(
                "Task.id must match the id in the URL", issues=[Issue("id mismatch", "Task.id")]
            )
        problems = update_problems(stored.body, proposed, roles_of(self.config, stored, caller))
        if problems:
            raise BusinessRuleViolation(
                problems[0].message,
                issues=[Issue(p.message, p.expression) for p in problems],
            )
        body = {
            **proposed,
            "id": stored.id,
            "meta": stored.body.get("meta", {}),
            "lastModified": fhir_instant(now),
        }
        updated = await fhir_store.update_resource(
            conn, body, now=now, expected_version=stored.version_id
        )
        if updated is None:
            raise PreconditionFailed(f"Task/{stored.id} changed while this update was made")
        referral_id = stored.referral_id or ""
        patient_id = str((updated.get("for") or {}).get("reference", "")).removeprefix("Patient/")
        event = task_update_event(
            self.audit.gateway,
            client_id=caller.client_id,
            interaction=interaction,
            referral_id=referral_id,
            task_id=stored.id,
            patient_id=patient_id,
            status=str(updated.get("status")),
            at=fhir_instant(now),
        )
        await append_entry(
            conn,
            event,
            event_type="task-updated",
            now=now,
            referral_id=referral_id,
            patient_id=patient_id or None,
        )
        await task_changed(
            conn,
            referral_id=referral_id,
            task=updated,
            previous_status=stored.body.get("status"),
            now=now,
        )
        return updated
