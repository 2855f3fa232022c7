"""How each destination type's connector is built from its config (``registry`` names
these functions). Only the composition root imports this module: it is where config
meets httpx clients, the outbound policy and SMART Backend Services credentials.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import httpx

from connectors.base import Connector
from connectors.community import CommunityConnector
from connectors.crisis import CrisisConnector, EscalationNotifier
from connectors.ehr_tasks import EhrTaskReader
from connectors.fhir import FhirConnector
from connectors.hsds import HsdsClient
from connectors.inbox import InboxConnector
from connectors.outbound import OutboundPolicy, make_client
from connectors.smart_backend import (
    AssertionKey,
    KeySource,
    SmartBackendAuth,
    SmartBackendCredentials,
)
from connectors.webhooks import WebhookConnector
from gateway.auth.access_tokens import GatewaySigningKey
from gateway.auth.keyring import Keyring
from gateway.config import (
    AnyDestination,
    CommunityDestination,
    CrisisDestination,
    FhirDelivery,
    FhirDestination,
    GatewayConfig,
    InboxDelivery,
    WebhookDelivery,
)
from gateway.context import Clock
from gateway.destinations.registry import destination_type, syncs_status

TOTAL_TIMEOUT = 30.0


@dataclass(frozen=True)
class ConnectorKit:
    """What a factory may build with: the config and the built-in inbox."""

    config: GatewayConfig
    inbox: InboxConnector
    ehr_keys: KeySource | None = None
    """The rotating ``ehr-client`` keyring, for EHRs registered with the seeded key."""

    def client(self, allow_private_network: bool = False) -> httpx.AsyncClient:
        """An outbound client under the outbound policy (``outbound.allow_private``)."""
        return outbound_client(self.config, allow_private_network)


def outbound_client(
    config: GatewayConfig, allow_private_network: bool = False
) -> httpx.AsyncClient:
    policy = OutboundPolicy(allow_private_network, config.outbound.allow_private)
    return make_client(policy, total_timeout=TOTAL_TIMEOUT)


def ehr_client_seed(config: GatewayConfig) -> GatewaySigningKey | None:
    """The first EHR's configured key: the ``ehr-client`` keyring's first key."""
    for destination in config.destinations:
        if isinstance(destination, FhirDestination) and destination.auth is not None:
            auth = destination.auth
            return GatewaySigningKey.from_pem_file(auth.private_key_file, kid=auth.kid)
    return None


def ehr_key_source(keyring: Keyring) -> KeySource:
    """What ``SmartBackendAuth`` signs with: the keyring's current ``ehr-client`` key."""

    async def current() -> AssertionKey | None:
        try:
            key = await keyring.signer()
        except RuntimeError:  # no key stored yet: the configured one signs
            return None
        return AssertionKey(key.private_pem(), key.kid, key.alg)

    return current


def fhir_client(
    destination: FhirDestination, config: GatewayConfig, ehr_keys: KeySource | None = None
) -> httpx.AsyncClient:
    """An outbound client for an EHR, with SMART Backend Services auth when configured.

    An EHR registered with the seeded key (its ``kid``) follows the ``ehr-client``
    keyring's rotations; one registered with another key keeps its own.
    """
    private = destination.allow_private_network
    client = outbound_client(config, private)
    if destination.auth is not None:
        auth = destination.auth
        client.auth = SmartBackendAuth(
            SmartBackendCredentials(
                client_id=auth.client_id,
                private_key_pem=auth.private_key_file.read_bytes(),
                kid=auth.kid,
                alg=auth.alg,
                scope=auth.scope,
                token_url=auth.token_url,
            ),
            base_url=destination.base_url,
            http=outbound_client(config, private),
            key_source=ehr_keys if _follows_keyring(destination, config) else None,
        )
    return client


def _follows_keyring(destination: FhirDestination, config: GatewayConfig) -> bool:
    seed = next(
        (d.auth for d in config.destinations if isinstance(d, FhirDestination) and d.auth), None
    )
    return destination.auth is not None and seed is not None and destination.auth.kid == seed.kid


def fhir_connector(destination: FhirDestination, kit: ConnectorKit) -> Connector:
    return FhirConnector(destination.base_url, fhir_client(destination, kit.config, kit.ehr_keys))


def fhir_task_reader(destination: FhirDestination, kit: ConnectorKit) -> EhrTaskReader:
    return EhrTaskReader(destination.base_url, fhir_client(destination, kit.config, kit.ehr_keys))


def crisis_connector(destination: CrisisDestination, kit: ConnectorKit) -> Connector:
    if destination.url is None or destination.secret is None:
        return kit.inbox  # the built-in inbox serves as the crisis desk operators watch
    return CrisisConnector(
        destination.url, destination.secret, kit.client(destination.allow_private_network)
    )


def community_connector(destination: CommunityDestination, kit: ConnectorKit) -> Connector:
    private = destination.allow_private_network
    channel: Connector
    delivery = destination.delivery
    if isinstance(delivery, InboxDelivery):
        channel = kit.inbox
    elif isinstance(delivery, FhirDelivery):
        channel = FhirConnector(delivery.base_url, kit.client(private))
    else:
        assert isinstance(delivery, WebhookDelivery)
        channel = WebhookConnector(delivery.url, delivery.secret, kit.client(private))
    return CommunityConnector(
        HsdsClient(destination.hsds_base_url, kit.client(private)),
        channel,
        taxonomy_term_id=destination.taxonomy_term_id,
        proximity=destination.proximity,
    )


def inbox_connector(_destination: AnyDestination, kit: ConnectorKit) -> Connector:
    return kit.inbox


def _resolve(reference: str) -> Callable[[Any, ConnectorKit], Any]:
    module, _, name = reference.partition(":")
    return cast(Callable[[Any, ConnectorKit], Any], getattr(importlib.import_module(module), name))


def build_connector(destination: AnyDestination, kit: ConnectorKit) -> Connector:
    """The connector the registry names for ``destination``'s type."""
    connector = _resolve(destination_type(destination).connector)(destination, kit)
    if not isinstance(connector, Connector):
        raise TypeError(f"{destination.type}: the factory did not build a Connector")
    return connector


def build_task_readers(kit: ConnectorKit) -> dict[str, EhrTaskReader]:
    """A Task reader for every destination that syncs status (``status_sync:``)."""
    readers: dict[str, EhrTaskReader] = {}
    for destination in kit.config.destinations:
        reference = destination_type(destination).task_reader
        if reference is not None and syncs_status(destination):
            readers[destination.name] = _resolve(reference)(destination, kit)
    return readers


def escalation_senders(
    config: GatewayConfig,
    client_for: Callable[[CrisisDestination], httpx.AsyncClient],
    clock: Clock,
) -> dict[str, EscalationNotifier]:
    """One sender per crisis destination that has escalation contacts (and so a secret)."""
    return {
        d.name: EscalationNotifier(d.secret, client_for(d), clock=lambda: clock().timestamp())
        for d in config.crisis_destinations
        if d.escalation and d.secret
    }
