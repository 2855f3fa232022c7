"""The FHIR surface's search in SQL: what the caller may see, narrowed by its criteria.

``Visibility`` is the whole of what a caller may see (its own published
submissions; as a recipient, the delivered Tasks its destinations own and the
ServiceRequest and Patient they point to; an operator, everything). Every
``Criteria`` condition is ANDed onto it, so no parameter can widen what a caller
sees. The same rule decides a read (``may_read``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.fhir_search import Criteria, DateRange
from gateway.store.fhir_store import StoredResource, _to_stored
from gateway.store.tables import fhir_resources, resource_identifiers


@dataclass(frozen=True)
class Visibility:
    operator: bool
    client_id: str
    owners: tuple[str, ...] = ()
    """``Organization/<destination>`` references the client acts for."""


def date_condition(column: Any, wanted: DateRange) -> ColumnElement[bool]:
    """A point ``column`` against a search range (R4 search §3.1.1.4.2)."""
    low, high = wanted.low, wanted.high
    conditions: dict[str, ColumnElement[bool]] = {
        "eq": and_(column >= low, column < high),
        "ne": or_(column < low, column >= high),
        "lt": column < low,
        "eb": column < low,
        "le": column < high,
        "gt": column >= high,
        "sa": column >= high,
        "ge": column >= low,
    }
    return conditions[wanted.prefix]


def _owned_tasks(owners: tuple[str, ...]) -> Any:
    tasks = fhir_resources.alias("owned_tasks")
    return tasks, and_(
        tasks.c.resource_type == "Task", tasks.c.published.is_(True), tasks.c.owner.in_(owners)
    )


def visible(resource_type: str, who: Visibility) -> ColumnElement[bool]:
    """Rows of ``resource_type`` that ``who`` may see."""
    table = fhir_resources
    if who.operator:
        return true()
    own = and_(table.c.published.is_(True), table.c.client_id == who.client_id)
    if not who.owners:
        return own
    tasks, owned = _owned_tasks(who.owners)
    if resource_type == "Task":
        as_recipient: ColumnElement[bool] = and_(
            table.c.published.is_(True), table.c.owner.in_(who.owners)
        )
    elif resource_type == "ServiceRequest":
        as_recipient = table.c.referral_id.in_(select(tasks.c.referral_id).where(owned))
    elif resource_type == "Patient":
        as_recipient = table.c.id.in_(select(tasks.c.patient_id).where(owned))
    else:
        as_recipient = false()
    return or_(own, as_recipient)


def _matches(criteria: Criteria) -> list[ColumnElement[bool]]:
    table, ident = fhir_resources, resource_identifiers
    conditions: list[ColumnElement[bool]] = []
    for ids in criteria.ids:
        conditions.append(table.c.id.in_(ids))
    for patient_id in criteria.patient_ids:
        conditions.append(table.c.patient_id == patient_id)
    for statuses in criteria.statuses:
        conditions.append(table.c.status.in_(statuses))
    for owner in criteria.owners:
        conditions.append(table.c.owner == owner)
    for alternatives in criteria.identifiers:
        options = []
        for system, value in alternatives:
            option = [ident.c.resource_type == criteria.resource_type]
            if system is not None:
                option.append(ident.c.system == system)
            if value is not None:
                option.append(ident.c.value == value)
            options.append(and_(*option))
        conditions.append(table.c.id.in_(select(ident.c.resource_id).where(or_(*options))))
    for wanted in criteria.last_updated:
        conditions.append(date_condition(table.c.last_updated, wanted))
    return conditions


def _order(criteria: Criteria) -> list[Any]:
    columns = {"_lastUpdated": fhir_resources.c.last_updated, "_id": fhir_resources.c.id}
    return [columns[name].desc() if desc else columns[name] for name, desc in criteria.sort]


async def search(
    conn: AsyncConnection, criteria: Criteria, who: Visibility
) -> tuple[int, list[StoredResource]]:
    """(total, this page) of what ``who`` may see that matches ``criteria``."""
    table = fhir_resources
    where = and_(
        table.c.resource_type == criteria.resource_type,
        visible(criteria.resource_type, who),
        *_matches(criteria),
    )
    total = (await conn.execute(select(func.count()).select_from(table).where(where))).scalar_one()
    if criteria.summary_count or criteria.count == 0:
        return int(total), []
    rows = await conn.execute(
        select(table)
        .where(where)
        .order_by(*_order(criteria))
        .limit(criteria.count)
        .offset(criteria.offset)
    )
    return int(total), [_to_stored(row) for row in rows]


async def read_visible(
    conn: AsyncConnection, resource_type: str, resource_id: str, who: Visibility
) -> StoredResource | None:
    """One resource, if ``who`` may see it."""
    table = fhir_resources
    row = (
        await conn.execute(
            select(table).where(
                table.c.resource_type == resource_type,
                table.c.id == resource_id,
                visible(resource_type, who),
            )
        )
    ).first()
    return _to_stored(row) if row else None
