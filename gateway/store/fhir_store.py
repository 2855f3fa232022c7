"""The gateway's own FHIR resource store: create, versioned update, read, search.

Intake links a submission's transaction Bundle to what is stored
(``gateway.intake.linking``, after http://hl7.org/fhir/R4/http.html#trules) with the
conditional matches and natural keys found here, and writes every row on the caller's
connection (one transaction) through a :class:`RowBuffer`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import orjson
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.context import fhir_instant
from gateway.store.tables import fhir_resources, resource_identifiers


@dataclass(frozen=True)
class StoredResource:
    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    body: dict[str, Any]
    client_id: str | None
    owner: str | None
    published: bool
    referral_id: str | None
    patient_id: str | None = None


def _identifiers(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
            yield ident["system"], ident["value"]


def rewrite_references(node: Any, mapping: dict[str, str]) -> Any:
    """A copy of ``node`` whose ``reference`` values found in ``mapping`` are replaced.

    Done on the compact JSON bytes: ``"reference":"<old>"`` is an exact token there, so
    an identifier that happens to hold the same uuid is left alone.
    """
    data = orjson.dumps(node)
    for old, new in mapping.items():
        token = b'"reference":' + orjson.dumps(old)
        if token in data:
            data = data.replace(token, b'"reference":' + orjson.dumps(new))
    return orjson.loads(data)


def _search_status(resource: dict[str, Any]) -> str | None:
    status = resource.get("status")
    return status if isinstance(status, str) else None


_ETAG = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')


def etag_version(value: str) -> int | None:
    """The version in an ETag / If-Match value like ``W/"3"``, or None when malformed."""
    found = _ETAG.match(value)
    return int(found.group(1)) if found else None


def with_meta(resource: dict[str, Any], version_id: int, last_updated: datetime) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = fhir_instant(last_updated, "auto")
    return {**resource, "meta": meta}


async def find_by_identifier(
    conn: AsyncConnection, resource_type: str, system: str, value: str
) -> list[str]:
    rows = await conn.execute(
        select(resource_identifiers.c.resource_id).where(
            resource_identifiers.c.resource_type == resource_type,
            resource_identifiers.c.system == system,
            resource_identifiers.c.value == value,
        )
    )
    return [row[0] for row in rows]


REFRESHED_ON_MATCH = frozenset({"Patient"})
"""Types whose existing match takes the newer content (the freshest contact details)."""


async def refresh(
    conn: AsyncConnection, rtype: str, resource_id: str, resource: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Update a matched resource with new content, keeping identifiers it had.

    Nothing is written when the content is unchanged (a returning person with the
    same details), and identifiers are re-indexed only when they changed.
    """
    current = await read(conn, rtype, resource_id)
    assert current is not None
    identifiers = merge_identifiers(resource.get("identifier"), current.body.get("identifier"))
    body = {**resource, "id": resource_id, "identifier": identifiers}
    if _content(body) == _content(current.body):
        return current.body
    updated = await update_resource(
        conn,
        body,
        now=now,
        expected_version=current.version_id,
        previous_identifiers=current.body.get("identifier"),
    )
    if updated is None:
        raise RuntimeError(f"{rtype}/{resource_id} changed during the transaction")
    return updated


def merge_identifiers(*lists: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for identifiers in lists:
        for ident in identifiers or []:
            if ident not in merged:
                merged.append(ident)
    return merged


def _content(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}


async def replace_identifiers(
    conn: AsyncConnection, rtype: str, resource_id: str, resource: dict[str, Any]
) -> None:
    await conn.execute(
        delete(resource_identifiers).where(
            resource_identifiers.c.resource_type == rtype,
            resource_identifiers.c.resource_id == resource_id,
        )
    )
    rows = [
        {"resource_type": rtype, "resource_id": resource_id, "system": s, "value": v}
        for s, v in _identifiers(resource)
    ]
    if rows:
        await conn.execute(insert(resource_identifiers), rows)


def natural_key(entry: dict[str, Any]) -> tuple[str, str, str] | None:
    """(type, system, value) an entry's ``ifNoneExist`` searches for.

    None when there is no identifier condition, or when the identifier is the
    entry's own fresh uuid, which cannot match anything stored.
    """
    condition = (entry.get("request") or {}).get("ifNoneExist") or ""
    if not condition.startswith("identifier="):
        return None
    system, _, value = condition.removeprefix("identifier=").partition("|")
    system, value = unquote(system), unquote(value)
    if system == "urn:ietf:rfc:3986" and value == entry["fullUrl"]:
        return None
    return (entry["resource"]["resourceType"], system, value)


async def conditional_matches(
    conn: AsyncConnection, entries: list[dict[str, Any]]
) -> dict[str, str]:
    """fullUrl -> id of the stored resource each ``ifNoneExist`` matches, in ONE query."""
    wanted: dict[tuple[str, str, str], list[str]] = {}
    for entry in entries:
        key = natural_key(entry)
        if key is not None:
            wanted.setdefault(key, []).append(entry["fullUrl"])
    if not wanted:
        return {}
    ident = resource_identifiers
    rows = await conn.execute(
        select(ident.c.resource_type, ident.c.system, ident.c.value, ident.c.resource_id).where(
            or_(
                *(
                    and_(ident.c.resource_type == t, ident.c.system == s, ident.c.value == v)
                    for t, s, v in wanted
                )
            )
        )
    )
    found: dict[str, str] = {}
    for rtype, system, value, resource_id in rows:
        for full_url in wanted[(rtype, system, value)]:
            found.setdefault(full_url, resource_id)
    return found


class RowBuffer:
    """New resources gathered for one ``executemany`` per table."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.rows: list[dict[str, Any]] = []
        self.identifier_rows: list[dict[str, Any]] = []

    def add(
        self,
        resource: dict[str, Any],
        *,
        referral_id: str | None = None,
        patient_id: str | None = None,
        client_id: str | None = None,
        owner: str | None = None,
        published: bool = True,
    ) -> dict[str, Any]:
        """Queue ``resource`` (which carries its ``id``); returns it with ``meta``."""
        body = with_meta(resource, 1, self.now)
        rtype, rid = body["resourceType"], body["id"]
        self.rows.append(
            {
                "resource_type": rtype,
                "id": rid,
                "version_id": 1,
                "last_updated": self.now,
                "referral_id": referral_id,
                "patient_id": patient_id,
                "client_id": client_id,
                "status": _search_status(body),
                "owner": owner,
                "published": published,
                "body": orjson.dumps(body),
            }
        )
        self.identifier_rows.extend(
            {"resource_type": rtype, "resource_id": rid, "system": s, "value": v}
            for s, v in _identifiers(body)
        )
        return body

    def extend(self, other: RowBuffer) -> None:
        self.rows.extend(other.rows)
        self.identifier_rows.extend(other.identifier_rows)

    async def flush(self, conn: AsyncConnection) -> None:
        if self.rows:
            await conn.execute(insert(fhir_resources), self.rows)
        if self.identifier_rows:
            await conn.execute(insert(resource_identifiers), self.identifier_rows)
        self.rows, self.identifier_rows = [], []


async def create_resource(
    conn: AsyncConnection,
    resource: dict[str, Any],
    *,
    now: datetime,
    referral_id: str | None = None,
    patient_id: str | None = None,
    client_id: str | None = None,
    owner: str | None = None,
    published: bool = True,
) -> dict[str, Any]:
    """Insert one resource that already carries its ``id``; returns it with ``meta``."""
    rows = RowBuffer(now)
    body = rows.add(
        resource,
        referral_id=referral_id,
        patient_id=patient_id,
        client_id=client_id,
        owner=owner,
        published=published,
    )
    await rows.flush(conn)
    return body


async def update_resource(
    conn: AsyncConnection,
    resource: dict[str, Any],
    *,
    now: datetime,
    expected_version: int,
    published: bool | None = None,
    previous_identifiers: list[dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """Write a new version if the stored one is still ``expected_version``; None if it moved on.

    The identifier index follows the resource: pass ``previous_identifiers`` (the stored
    version's) to skip re-indexing when they did not change.
    """
    version = expected_version + 1
    body = with_meta(resource, version, now)
    values: dict[str, Any] = {
        "version_id": version,
        "last_updated": now,
        "status": _search_status(body),
        "body": orjson.dumps(body),
    }
    if published is not None:
        values["published"] = published
    result = await conn.execute(
        update(fhir_resources)
        .where(
            fhir_resources.c.resource_type == resource["resourceType"],
            fhir_resources.c.id == resource["id"],
            fhir_resources.c.version_id == expected_version,
        )
        .values(**values)
    )
    if result.rowcount != 1:
        return None
    if previous_identifiers is None or previous_identifiers != body.get("identifier"):
        await replace_identifiers(conn, body["resourceType"], body["id"], body)
    return body


def _to_stored(row: Any) -> StoredResource:
    return StoredResource(
        resource_type=row.resource_type,
        id=row.id,
        version_id=row.version_id,
        last_updated=row.last_updated,
        body=orjson.loads(row.body),
        client_id=row.client_id,
        owner=row.owner,
        published=row.published,
        referral_id=row.referral_id,
        patient_id=row.patient_id,
    )


async def read(
    conn: AsyncConnection, resource_type: str, resource_id: str
) -> StoredResource | None:
    row = (
        await conn.execute(
            select(fhir_resources).where(
                fhir_resources.c.resource_type == resource_type, fhir_resources.c.id == resource_id
            )
        )
    ).first()
    return _to_stored(row) if row else None


@dataclass(frozen=True)
class SearchQuery:
    """The search parameters the gateway supports (CapabilityStatement lists exactly these)."""

    resource_type: str
    ids: list[str] | None = None
    identifier: tuple[str | None, str] | None = None
    patient_id: str | None = None
    statuses: list[str] | None = None
    owner: str | None = None
    last_updated: list[tuple[str, datetime]] | None = None
    """(prefix, instant) pairs: gt, ge, lt, le, eq."""
    client_id: str | None = None
    """Restrict to one client's resources (None: all, for an operator)."""
    only_published: bool = True
    count: int = 50
    offset: int = 0


async def search(conn: AsyncConnection, query: SearchQuery) -> tuple[int, list[StoredResource]]:
    table = fhir_resources
    conditions = [table.c.resource_type == query.resource_type]
    if query.only_published:
        conditions.append(table.c.published.is_(True))
    if query.ids is not None:
        conditions.append(table.c.id.in_(query.ids))
    if query.patient_id is not None:
        conditions.append(table.c.patient_id == query.patient_id)
    if query.statuses:
        conditions.append(table.c.status.in_(query.statuses))
    if query.owner is not None:
        conditions.append(table.c.owner == query.owner)
    if query.client_id is not None:
        conditions.append(table.c.client_id == query.client_id)
    if query.identifier is not None:
        system, value = query.identifier
        ident = resource_identifiers
        sub = select(ident.c.resource_id).where(
            ident.c.resource_type == query.resource_type, ident.c.value == value
        )
        if system is not None:
            sub = sub.where(ident.c.system == system)
        conditions.append(table.c.id.in_(sub))
    for prefix, instant in query.last_updated or []:
        column = table.c.last_updated
        conditions.append(
            {
                "gt": column > instant,
                "ge": column >= instant,
                "lt": column < instant,
                "le": column <= instant,
                "eq": column == instant,
            }[prefix]
        )
    where = and_(*conditions)
    total = (await conn.execute(select(func.count()).select_from(table).where(where))).scalar_one()
    rows = await conn.execute(
        select(table)
        .where(where)
        .order_by(table.c.last_updated, table.c.id)
        .limit(query.count)
        .offset(query.offset)
    )
    return int(total), [_to_stored(row) for row in rows]


def resources_of(bundle: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return (entry["resource"] for entry in bundle.get("entry", []))
