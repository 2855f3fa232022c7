"""Status sync from EHR destinations: mirror the remote Task's status into the local one.

HL7 SDOH Clinical Care IG, "Checking Task status" (checking_task_status.html): the
requester learns of Task changes by subscription where the performer offers it, else
by polling ``Task?_lastUpdated=gt...`` no more often than agreed. Here:

- ``mode: poll``: every ``poll_seconds``, while the destination owns open Tasks;
- ``mode: subscription``: additionally, an R4 rest-hook Subscription on the EHR
  (criteria ``Task?intent=order``) calls ``/hooks/ehr/{destination}`` with a
  per-subscription secret header; a call makes the destination due at once. The
  notification is only a nudge: the Tasks are then read with the gateway's own
  credentials (``gateway.referral_loop.sync_hook``).

The EHR's CapabilityStatement decides what is used (DESIGN.md convention 10): the
``_lastUpdated`` search only if Task lists it (else each open Task is read by id),
a Subscription only if the server lists ``create`` for it. A remote Task is matched
to the local one by the remote id the worker recorded
(``urn:referral-gateway:remote-task``) or by the local Task's identifier it carries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.base import DeliveryError
from connectors.capability import ServerCapabilities
from connectors.ehr_tasks import EhrTaskReader
from gateway.config import GatewayConfig, StatusSyncConfig
from gateway.context import Clock, fhir_instant
from gateway.destinations.registry import status_sync_of
from gateway.fhir_task import REMOTE_TASK_SYSTEM
from gateway.logging import get_logger
from gateway.notify import task_changed
from gateway.referral_loop.milestones import task_destination
from gateway.referral_loop.poll_turn import PollTurns
from gateway.referral_loop.sync_hook import HOOK_HEADER
from gateway.referral_loop.task_rules import TERMINAL_STATUSES, mirror_allowed
from gateway.store import fhir_store
from gateway.store.tables_loop import sync_cursors, task_milestones

log = get_logger("gateway.referral_loop.status_sync")
LOCAL_ID_SYSTEM = "urn:ietf:rfc:3986"
FIRST_POLL_MARGIN = timedelta(minutes=5)
MIRRORED = ("status", "statusReason", "businessStatus")


def mirrored_body(
    local: dict[str, Any], remote: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The local Task with the remote's status, statusReason and businessStatus."""
    body = {k: v for k, v in local.items() if k not in MIRRORED}
    body.update({k: remote[k] for k in MIRRORED if k in remote})
    body["lastModified"] = fhir_instant(now)
    return body


class StatusSync:
    def __init__(
        self,
        engine: AsyncEngine,
        config: GatewayConfig,
        *,
        clock: Clock,
        readers: Mapping[str, EhrTaskReader],
        public_url: str,
        new_secret: Callable[[], str],
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.turns = PollTurns(engine, holder or f"status-sync:{uuid.uuid4()}")
        self.config = config
        self.clock = clock
        self.readers = readers
        self.public_url = public_url
        self.new_secret = new_secret
        self._support: dict[str, ServerCapabilities] = {}
        self._subscription_tried: dict[str, datetime] = {}

    def destinations(self) -> list[tuple[str, StatusSyncConfig]]:
        """Each destination that syncs status and has a reader, with its ``status_sync:``."""
        found = []
        for destination in self.config.destinations:
            sync = status_sync_of(destination)
            if sync is not None and destination.name in self.readers:
                found.append((destination.name, sync))
        return found

    async def run_due(self) -> int:
        """Sync every destination whose poll period has passed (or that was nudged)."""
        mirrored = 0
        now = self.clock()
        for name, sync in self.destinations():
            period = timedelta(seconds=sync.poll_seconds)
            if not await self.turns.take(name, now):
                continue  # another worker polls this destination now
            try:
                if sync.mode == "subscription":
                    await self._subscribe_when_due(name, period, now)
                cursor = await self._cursor(name)  # read after taking the turn: fresh
                last = cursor.get("last_polled_at")
                if last is not None and now - last < period:
                    continue
                mirrored += await self.sync_destination(name)
            except DeliveryError as exc:
                log.warning("status_sync.failed", destination=name, outcome=exc.reason)
            finally:
                await self.turns.give_back(name)
        return mirrored

    async def _subscribe_when_due(self, name: str, period: timedelta, now: datetime) -> None:
        """Hold a rest-hook Subscription on the EHR, if it offers them (tried once a period)."""
        tried = self._subscription_tried.get(name)
        if tried is not None and now - tried < period:
            return
        self._subscription_tried[name] = now
        if (await self.support(name)).subscription_create:
            await self._ensure_remote_subscription(name)

    async def sync_destination(self, name: str) -> int:
        """Read the destination's Tasks now and mirror their status; returns how many moved."""
        now = self.clock()
        open_tasks = await self._open_tasks(name)
        if not open_tasks:
            await self._save_cursor(name, now, None)
            return 0
        support = await self.support(name)
        cursor = await self._cursor(name)
        if support.task_last_updated:
            since = cursor.get("remote_since") or fhir_instant(
                min(at for _, at in open_tasks) - FIRST_POLL_MARGIN
            )
            remote_tasks = await self.readers[name].changed_since(since)
        else:
            remote_tasks = await self._read_each(name, [task_id for task_id, _ in open_tasks])
        moved = 0
        async with self.engine.begin() as conn:
            for remote in remote_tasks:
                moved += await self._mirror(conn, name, remote, now)
        stamps = [str((t.get("meta") or {}).get("lastUpdated", "")) for t in remote_tasks]
        newest = max([s for s in stamps if s], default=None)
        await self._save_cursor(name, now, newest)
        return moved

    async def support(self, name: str) -> ServerCapabilities:
        if name not in self._support:
            self._support[name] = await self.readers[name].capabilities()
        return self._support[name]

    async def _read_each(self, name: str, task_ids: list[str]) -> list[dict[str, Any]]:
        found = []
        async with self.engine.connect() as conn:
            remote_ids = [await _remote_id(conn, task_id) for task_id in task_ids]
        for remote_id in remote_ids:
            if remote_id is not None:
                found.append(await self.readers[name].read(remote_id))
        return found

    async def _mirror(
        self, conn: AsyncConnection, name: str, remote: dict[str, Any], now: datetime
    ) -> int:
        local = await _local_task(conn, remote, destination=name)
        if local is None:
            return 0
        current = str(local.body.get("status"))
        if not mirror_allowed(current, str(remote.get("status"))):
            return 0
        updated = await fhir_store.update_resource(
            conn, mirrored_body(local.body, remote, now), now=now, expected_version=local.version_id
        )
        if updated is None:
            return 0
        await task_changed(
            conn,
            referral_id=local.referral_id or "",
            task=updated,
            previous_status=current,
            now=now,
        )
        log.info(
            "status_sync.mirrored", destination=name, task_id=local.id, status=updated["status"]
        )
        return 1

    async def _open_tasks(self, name: str) -> list[tuple[str, datetime]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(task_milestones.c.task_id, task_milestones.c.requested_at).where(
                    task_milestones.c.destination == name,
                    task_milestones.c.status.not_in(TERMINAL_STATUSES),
                )
            )
            return [(row.task_id, row.requested_at) for row in rows]

    async def _cursor(self, name: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(sync_cursors).where(sync_cursors.c.destination == name))
            ).first()
        return dict(row._mapping) if row is not None else {}

    async def _save_cursor(
        self, name: str, now: datetime, newest: str | None, **extra: Any
    ) -> None:
        values: dict[str, Any] = {"last_polled_at": now, "updated_at": now, **extra}
        if newest:
            values["remote_since"] = newest
        async with self.engine.begin() as conn:
            exists = (
                await conn.execute(
                    select(sync_cursors.c.destination).where(sync_cursors.c.destination == name)
                )
            ).first()
            if exists is None:
                await conn.execute(insert(sync_cursors).values(destination=name, **values))
            else:
                await conn.execute(
                    update(sync_cursors).where(sync_cursors.c.destination == name).values(**values)
                )

    async def _ensure_remote_subscription(self, name: str) -> None:
        cursor = await self._cursor(name)
        if cursor.get("remote_subscription_id"):
            return
        secret = self.new_secret()
        subscription = {
            "resourceType": "Subscription",
            "status": "requested",
            "reason": "Referral gateway: learn when referral Tasks change",
            "criteria": "Task?intent=order",
            "channel": {
                "type": "rest-hook",
                "endpoint": f"{self.public_url}/hooks/ehr/{name}",
                "payload": "application/fhir+json",
                "header": [f"{HOOK_HEADER}: {secret}"],
            },
        }
        answer = await self.readers[name].create_subscription(subscription)
        if answer.remote_id is None:
            log.warning(
                "status_sync.subscription_refused",
                destination=name,
                status_code=answer.status_code,
            )
            return
        remote_id = answer.remote_id
        await self._save_cursor(
            name,
            cursor.get("last_polled_at") or self.clock(),
            None,
            remote_subscription_id=remote_id,
            hook_secret=secret,
        )


async def _remote_id(conn: AsyncConnection, task_id: str) -> str | None:
    stored = await fhir_store.read(conn, "Task", task_id)
    if stored is None:
        return None
    for identifier in stored.body.get("identifier") or []:
        if identifier.get("system") == REMOTE_TASK_SYSTEM:
            return str(identifier.get("value"))
    return None


async def _local_task(
    conn: AsyncConnection, remote: Mapping[str, Any], *, destination: str
) -> fhir_store.StoredResource | None:
    """The local Task ``remote`` mirrors: by the local id it carries, else by its remote id.

    A remote id is unique only within one EHR, so only this destination's Tasks count.
    """
    candidates = [
        str(identifier.get("value", "")).removeprefix("urn:uuid:")
        for identifier in remote.get("identifier") or []
        if identifier.get("system") == LOCAL_ID_SYSTEM
        and str(identifier.get("value", "")).startswith("urn:uuid:")
    ]
    candidates += await fhir_store.find_by_identifier(
        conn, "Task", REMOTE_TASK_SYSTEM, str(remote.get("id"))
    )
    for task_id in candidates:
        stored = await fhir_store.read(conn, "Task", task_id)
        if stored is not None and task_destination(stored.body) == destination:
            return stored
    return None
