"""Who acts for a destination: the clients named in its ``clients`` list.

A recipient may read and search the Tasks its destinations own (once delivered) and
read the ServiceRequest and Patient such a Task points to, on the FHIR surface.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.config import GatewayConfig
from gateway.fhir_task import owner_reference
from gateway.store.fhir_store import SearchQuery, StoredResource
from gateway.store.tables import fhir_resources

FOLLOWED_TYPES = frozenset({"ServiceRequest", "Patient"})


def owned_destinations(config: GatewayConfig, client_id: str) -> list[str]:
    """Destinations ``client_id`` acts for."""
    return [d.name for d in config.destinations if client_id in d.clients]


def owner_references(config: GatewayConfig, client_id: str) -> list[str]:
    return [owner_reference(name) for name in owned_destinations(config, client_id)]


async def recipient_may_read(
    conn: AsyncConnection, config: GatewayConfig, stored: StoredResource, client_id: str
) -> bool:
    """Whether ``client_id`` may read ``stored`` as the recipient of a delivered Task."""
    owners = owner_references(config, client_id)
    if not owners:
        return False
    if stored.resource_type == "Task":
        return stored.published and stored.owner in owners
    if stored.resource_type not in FOLLOWED_TYPES:
        return False
    tasks = fhir_resources
    link = (
        tasks.c.patient_id == stored.id
        if stored.resource_type == "Patient"
        else tasks.c.referral_id == stored.referral_id
    )
    found = await conn.execute(
        select(tasks.c.id)
        .where(
            tasks.c.resource_type == "Task",
            tasks.c.published.is_(True),
            tasks.c.owner.in_(owners),
            link,
        )
        .limit(1)
    )
    return found.first() is not None


def widen_for_recipient(query: SearchQuery, config: GatewayConfig, client_id: str) -> SearchQuery:
    """A Task search filtered by an ``owner`` the client acts for shows that owner's Tasks."""
    if query.resource_type != "Task" or query.owner is None or query.client_id is None:
        return query
    if query.owner not in owner_references(config, client_id):
        return query
    return replace(query, client_id=None, only_published=True)
