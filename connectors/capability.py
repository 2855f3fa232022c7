"""The one reader of an EHR's CapabilityStatement (http://hl7.org/fhir/R4/capabilitystatement.html).

EHRs differ (DESIGN.md convention 10): what a server does not list, the gateway does
not assume. Delivery reads which types it may create conditionally or ``PUT`` with a
client-assigned id (``connectors.fhir.adapt_bundle``); status sync reads whether Task
is searchable by ``_lastUpdated`` and whether a Subscription may be created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerCapabilities:
    """What a server's CapabilityStatement says it does (``rest.mode = server`` only)."""

    conditional_create: frozenset[str]
    """Types created conditionally that are also searchable by ``identifier``."""
    update_create: frozenset[str]
    """Types that accept ``PUT`` with a client-assigned id."""
    task_last_updated: bool = False
    """``Task?_lastUpdated=gt...`` is a listed search (type-level or common parameter)."""
    subscription_create: bool = False
    """A Subscription may be created (``create`` interaction)."""


def read_capability(capability: Mapping[str, Any]) -> ServerCapabilities:
    conditional: set[str] = set()
    update_create: set[str] = set()
    last_updated = False
    subscription = False
    for rest in capability.get("rest") or []:
        if rest.get("mode") != "server":
            continue
        common = {p.get("name") for p in rest.get("searchParam") or []}
        for resource in rest.get("resource") or []:
            rtype = resource.get("type", "")
            params = {p.get("name") for p in resource.get("searchParam") or []}
            interactions = {i.get("code") for i in resource.get("interaction") or []}
            if resource.get("conditionalCreate") and "identifier" in params:
                conditional.add(rtype)
            if resource.get("updateCreate") and "update" in interactions:
                update_create.add(rtype)
            if rtype == "Task":
                last_updated = "_lastUpdated" in params | common and "search-type" in interactions
            if rtype == "Subscription":
                subscription = "create" in interactions
    return ServerCapabilities(
        frozenset(conditional), frozenset(update_create), last_updated, subscription
    )
