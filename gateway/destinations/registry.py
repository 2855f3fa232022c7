"""The registry of destination types, read instead of ``isinstance`` chains.

Each entry says, for one ``type:`` of ``destinations:`` (CONTRACT.md), what the rest of
the gateway needs to know: the config model, the factory that builds its connector
(``"module:function"``, imported only by the composition root so the web layer never
reaches a connector), the consent recipient category it falls under by default, whether
it takes the crisis lane, whether its Tasks can be read back (status sync), and whether
a referral there stalls by urgency when no ``stall_after_seconds`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from consent.vocab import RECIPIENT_CATEGORIES
from gateway.config import (
    AnyDestination,
    CommunityDestination,
    ConsentCategory,
    CrisisDestination,
    FhirDestination,
    InboxDestination,
    StatusSyncConfig,
)


@dataclass(frozen=True)
class DestinationType:
    name: str
    """The ``type:`` value in the config file."""
    config: type[AnyDestination]
    connector: str
    """``"module:function"``: ``function(destination, kit) -> Connector``."""
    consent_category: ConsentCategory
    """The recipient category (``consent.vocab``) unless the destination names another."""
    crisis_lane: bool = False
    """Its deliveries take the crisis lane, claimed before all others."""
    task_reader: str | None = None
    """``"module:function"`` building a reader of its Tasks, when status sync is possible."""
    stalls_by_urgency: bool = True
    """Without ``stall_after_seconds``, a Task not accepted by its urgency's deadline
    stalls; False where another clock watches (the crisis acknowledgement SLA)."""


_FACTORIES = "gateway.destinations.factories"

DESTINATION_TYPES: dict[str, DestinationType] = {
    entry.name: entry
    for entry in (
        DestinationType(
            name="fhir",
            config=FhirDestination,
            connector=f"{_FACTORIES}:fhir_connector",
            consent_category="ehr",
            task_reader=f"{_FACTORIES}:fhir_task_reader",
        ),
        DestinationType(
            name="crisis",
            config=CrisisDestination,
            connector=f"{_FACTORIES}:crisis_connector",
            consent_category="crisis",
            crisis_lane=True,
            stalls_by_urgency=False,
        ),
        DestinationType(
            name="community",
            config=CommunityDestination,
            connector=f"{_FACTORIES}:community_connector",
            consent_category="community",
        ),
        DestinationType(
            name="inbox",
            config=InboxDestination,
            connector=f"{_FACTORIES}:inbox_connector",
            consent_category="ehr",
        ),
    )
}


def destination_type(destination: AnyDestination) -> DestinationType:
    """The registry entry for ``destination``'s ``type:``."""
    try:
        return DESTINATION_TYPES[destination.type]
    except KeyError:
        raise ValueError(f"unknown destination type {destination.type!r}") from None


def consent_category(destination: AnyDestination) -> str:
    """The recipient category consent is decided for: configured, else the type's."""
    configured = destination.consent_category
    if configured is not None:
        if configured not in RECIPIENT_CATEGORIES:
            raise ValueError(f"unknown recipient category {configured!r}")
        return configured
    return destination_type(destination).consent_category


def takes_crisis_lane(destination: AnyDestination) -> bool:
    return destination_type(destination).crisis_lane


def stalls_by_urgency(destination: AnyDestination) -> bool:
    return destination_type(destination).stalls_by_urgency


def status_sync_of(destination: AnyDestination) -> StatusSyncConfig | None:
    """Its ``status_sync:`` when its type can read Tasks back and it asked for it."""
    if destination_type(destination).task_reader is None:
        return None
    sync = getattr(destination, "status_sync", None)
    return sync if isinstance(sync, StatusSyncConfig) else None


def syncs_status(destination: AnyDestination) -> bool:
    return status_sync_of(destination) is not None
