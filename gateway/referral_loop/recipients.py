"""Who acts for a destination: the clients named in its ``clients`` list.

A recipient may read and search the Tasks its destinations own (once delivered) and
read the ServiceRequest and Patient such a Task points to, on the FHIR surface
(``gateway.store.fhir_search_store.Visibility``).
"""

from __future__ import annotations

from gateway.config import GatewayConfig
from gateway.fhir_task import owner_reference


def owned_destinations(config: GatewayConfig, client_id: str) -> list[str]:
    """Destinations ``client_id`` acts for."""
    return [d.name for d in config.destinations if client_id in d.clients]


def owner_references(config: GatewayConfig, client_id: str) -> list[str]:
    return [owner_reference(name) for name in owned_destinations(config, client_id)]
