"""The composition root: the one place that knows every package and wires them.

``build_gateway`` turns settings and the YAML config into a ``Gateway`` (engine,
services, connectors, worker); ``create_app`` puts the web layer on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.base import Connector
from connectors.community import CommunityConnector
from connectors.crisis import CrisisConnector
from connectors.fhir import FhirConnector
from connectors.hsds import HsdsClient
from connectors.inbox import InboxConnector
from connectors.outbound import OutboundPolicy, make_client
from connectors.smart_backend import SmartBackendAuth, SmartBackendCredentials
from connectors.webhooks import WebhookConnector, WebhookSender
from gateway.audit.recorder import AuditRecorder
from gateway.auth.access_tokens import AccessTokenVerifier, GatewaySigningKey, TrustedIssuer
from gateway.auth.client_keys import ClientKeyResolver, JwksCache
from gateway.auth.token_endpoint import TokenService
from gateway.config import (
    AnyDestination,
    CommunityDestination,
    ConfigError,
    CrisisDestination,
    FhirDelivery,
    FhirDestination,
    GatewayConfig,
    InboxDelivery,
    WebhookDelivery,
    load_config,
)
from gateway.context import Clock, IdFactory, new_uuid, utc_now
from gateway.crisis.notifier import escalation_ports
from gateway.crisis.watcher import CrisisWatcher
from gateway.inbox import StoreInboxPublisher
from gateway.intake.batcher import IntakeBatcher
from gateway.intake.service import IntakeService
from gateway.logging import get_logger
from gateway.loop.dispatcher import NotificationDispatcher
from gateway.loop.runner import LoopRunner
from gateway.loop.stalls import StallWatch
from gateway.loop.status_sync import StatusSync
from gateway.metrics import Metrics
from gateway.retry import RetryPolicy
from gateway.services import Services
from gateway.settings import Settings
from gateway.store import fhir_store
from gateway.store.clients import DatabaseClientRegistry, DatabaseJtiStore, sync_config_clients
from gateway.store.db import create_engine, migrate
from gateway.tasks import destination_organization
from gateway.worker import DeliveryWorker, WorkerTuning

VERSION = "0.1.0"
log = get_logger("gateway.bootstrap")
DEFAULT_CONFIG = Path(__file__).with_name("default_config.yaml")
SCOPES_SUPPORTED = (
    "system/ServiceRequest.c",
    "system/ServiceRequest.r",
    "system/ServiceRequest.rs",
    "system/Task.rs",
    "system/Task.u",
    "system/Subscription.c",
    "system/Consent.c",
    "system/Consent.r",
    "system/Consent.u",
    "system/AuditEvent.rs",
    "system/Patient.d",
    "system/*.rs",
)


@dataclass
class Gateway:
    """Everything wired: the services the web layer sees, plus the worker and connectors."""

    services: Services
    worker: DeliveryWorker
    connectors: dict[str, Connector]
    http: httpx.AsyncClient
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _worker_task: asyncio.Task[None] | None = None
    crisis_watcher: CrisisWatcher | None = None
    _watcher_task: asyncio.Task[None] | None = None
    loop_runner: LoopRunner | None = None
    _loop_task: asyncio.Task[None] | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def config(self) -> GatewayConfig:
        return self.services.config

    @property
    def engine(self) -> AsyncEngine:
        return self.services.engine

    @property
    def clock(self) -> Clock:
        return self.services.clock

    def wake_worker(self) -> None:
        self._wake.set()

    def worker_running(self) -> bool:
        return self._worker_task is not None and not self._worker_task.done()

    async def start(self) -> None:
        await migrate(self.engine)
        now = self.clock()
        async with self.engine.begin() as conn:
            await sync_config_clients(conn, self.config.clients, now)
            await _sync_destination_organizations(conn, self.config, now)

    async def start_worker(self, stop: asyncio.Event) -> None:
        self._worker_task = asyncio.create_task(self._worker_loop(stop))
        if self.crisis_watcher is not None:
            self._watcher_task = asyncio.create_task(self.crisis_watcher.run(stop))
        if self.loop_runner is not None:
            self._loop_task = asyncio.create_task(self.loop_runner.run(stop))

    async def _worker_loop(self, stop: asyncio.Event) -> None:
        """Deliver what is due; woken at once by intake, else every poll interval."""
        await self.worker.run(stop, self.settings.worker_poll_seconds, wake=self._wake)

    async def close(self) -> None:
        if self.loop_runner is not None:
            if self._loop_task is not None:
                self._loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._loop_task
            await self.loop_runner.aclose()
        if self.crisis_watcher is not None:
            if self._watcher_task is not None:
                self._watcher_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._watcher_task
            await self.crisis_watcher.aclose()
        if self._worker_task is not None:
            self._worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker_task
        for connector in self.connectors.values():
            await connector.aclose()
        await self.http.aclose()
        await self.engine.dispose()


async def _sync_destination_organizations(
    conn: object, config: GatewayConfig, now: datetime
) -> None:
    from sqlalchemy.ext.asyncio import AsyncConnection

    assert isinstance(conn, AsyncConnection)
    for destination in config.destinations:
        if await fhir_store.read(conn, "Organization", destination.name) is None:
            await fhir_store.create_resource(
                conn, destination_organization(destination.name, destination.type), now=now
            )


def refuse_unsafe(settings: Settings, config: GatewayConfig) -> None:
    """Refuse to start in production with demo keys or no persistent signing key."""
    if settings.env != "production":
        return
    demo = [c.client_id for c in config.clients if c.demo]
    if demo:
        raise ConfigError(
            f"clients: {', '.join(demo)} use demo keys from examples/, refused when "
            "GATEWAY_ENV=production"
        )
    if settings.signing_key_file is None:
        raise ConfigError("GATEWAY_SIGNING_KEY_FILE is required when GATEWAY_ENV=production")
    if not settings.audit_hash_key or len(settings.audit_hash_key) < 32:
        raise ConfigError("GATEWAY_AUDIT_HASH_KEY (32+ characters) is required in production")


def load_signing_key(settings: Settings) -> GatewaySigningKey:
    path = settings.signing_key_file
    if path is not None:
        return GatewaySigningKey.from_pem_file(path)
    default = Path("var/gateway-signing-key.pem")
    if default.exists():
        return GatewaySigningKey.from_pem_file(default)
    pem = ECKey.generate_key("P-384").as_pem(private=True)
    default.parent.mkdir(parents=True, exist_ok=True)
    default.write_bytes(pem)
    os.chmod(default, 0o600)
    return GatewaySigningKey.from_pem(pem)


def _policy(config: GatewayConfig, allow_private_network: bool = False) -> OutboundPolicy:
    return OutboundPolicy(allow_private_network, config.outbound.allow_private)


def _client(config: GatewayConfig, allow_private_network: bool = False) -> httpx.AsyncClient:
    return make_client(_policy(config, allow_private_network), total_timeout=30.0)


def fhir_client(destination: FhirDestination, config: GatewayConfig) -> httpx.AsyncClient:
    """An outbound client for an EHR, with SMART Backend Services auth when configured."""
    private = destination.allow_private_network
    client = _client(config, private)
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
            http=_client(config, private),
        )
    return client


def build_loop_runner(gateway: Gateway, retry_policy: RetryPolicy, worker_id: str) -> LoopRunner:
    """Notification dispatcher, stall watch and EHR status sync (docs/closing-the-loop.md)."""
    services, config = gateway.services, gateway.config
    hooks_http = _client(config)  # app webhooks and subscription endpoints: outbound.allow_private
    dispatcher = NotificationDispatcher(
        services.engine,
        clock=services.clock,
        webhooks=lambda url, secret: WebhookSender(url, secret, hooks_http, what="app webhook"),
        http=hooks_http,
        policy=retry_policy,
        public_url=services.settings.public_url,
        metrics=services.metrics,
        worker_id=worker_id,
    )
    sync_clients = {
        d.name: fhir_client(d, config)
        for d in config.destinations
        if isinstance(d, FhirDestination) and d.status_sync is not None
    }
    return LoopRunner(
        services.engine,
        clock=services.clock,
        dispatcher=dispatcher,
        stalls=StallWatch(
            services.engine,
            config,
            clock=services.clock,
            audit=services.audit,
            metrics=services.metrics,
        ),
        sync=StatusSync(
            services.engine,
            config,
            clock=services.clock,
            clients=sync_clients,
            public_url=services.settings.public_url,
            new_secret=lambda: secrets.token_urlsafe(32),
        ),
        poll_seconds=services.settings.worker_poll_seconds,
    )


def build_connector(
    destination: AnyDestination, config: GatewayConfig, inbox: InboxConnector
) -> Connector:
    private = destination.allow_private_network
    if isinstance(destination, FhirDestination):
        return FhirConnector(destination.base_url, fhir_client(destination, config))
    if isinstance(destination, CrisisDestination):
        if destination.url is None or destination.secret is None:
            return inbox  # the built-in inbox serves as the crisis desk operators watch
        return CrisisConnector(destination.url, destination.secret, _client(config, private))
    if isinstance(destination, CommunityDestination):
        channel: Connector
        delivery = destination.delivery
        if isinstance(delivery, InboxDelivery):
            channel = inbox
        elif isinstance(delivery, FhirDelivery):
            channel = FhirConnector(delivery.base_url, _client(config, private))
        else:
            assert isinstance(delivery, WebhookDelivery)
            channel = WebhookConnector(delivery.url, delivery.secret, _client(config, private))
        return CommunityConnector(
            HsdsClient(destination.hsds_base_url, _client(config, private)),
            channel,
            taxonomy_term_id=destination.taxonomy_term_id,
            proximity=destination.proximity,
        )
    return inbox


def load_gateway_config(settings: Settings) -> GatewayConfig:
    return load_config(settings.config or DEFAULT_CONFIG)


def build_gateway(
    settings: Settings,
    config: GatewayConfig,
    *,
    clock: Clock = utc_now,
    new_id: IdFactory = new_uuid,
    retry_policy: RetryPolicy | None = None,
    connectors: dict[str, Connector] | None = None,
    worker_id: str | None = None,
) -> Gateway:
    refuse_unsafe(settings, config)
    engine = create_engine(settings.database_url)
    audit = AuditRecorder(engine, clock, settings.public_url)
    inbox = InboxConnector(StoreInboxPublisher(engine, clock))
    if connectors is None:
        connectors = {d.name: build_connector(d, config, inbox) for d in config.destinations}
    http = _client(config)
    jwks_cache = JwksCache(http, clock=clock)
    signing_key = load_signing_key(settings)
    token_service = TokenService(
        public_url=settings.public_url,
        token_url=settings.token_url,
        clients=DatabaseClientRegistry(engine),
        jti_store=DatabaseJtiStore(engine, clock),
        key_resolver=ClientKeyResolver(jwks_cache),
        signing_key=signing_key,
        audit=audit,
        clock=clock,
        scopes_supported=SCOPES_SUPPORTED,
    )
    issuers = [TrustedIssuer.gateway(signing_key, settings.public_url)] + [
        TrustedIssuer(issuer=i.issuer, audience=i.audience, jwks_uri=i.jwks_uri)
        for i in config.issuers
    ]
    verifier = AccessTokenVerifier(issuers, clock=clock, jwks_cache=jwks_cache)
    worker = DeliveryWorker(
        engine,
        config,
        connectors,
        clock=clock,
        audit=audit,
        policy=retry_policy or RetryPolicy(),
        worker_id=worker_id or f"{socket.gethostname()}:{os.getpid()}",
        public_url=settings.public_url,
        tuning=WorkerTuning.from_settings(settings),
    )
    intake = IntakeService(config, clock, new_id, audit)
    wake = asyncio.Event()
    gateway = Gateway(
        services=Services(
            settings=settings,
            config=config,
            engine=engine,
            clock=clock,
            new_id=new_id,
            audit=audit,
            intake=intake,
            intake_batcher=IntakeBatcher(engine, intake),
            token_service=token_service,
            token_verifier=verifier,
            metrics=Metrics(),
            started_at=clock(),
            version=VERSION,
            wake_worker=wake.set,
            worker_running=lambda: False,
        ),
        worker=worker,
        connectors=connectors,
        http=http,
        _wake=wake,
    )
    gateway.services.worker_running = gateway.worker_running
    runner = build_loop_runner(
        gateway, retry_policy or RetryPolicy(), worker_id or f"{socket.gethostname()}:{os.getpid()}"
    )
    gateway.loop_runner = runner

    def wake_all() -> None:
        wake.set()
        runner.wake.set()

    gateway.services.wake_worker = wake_all
    gateway.crisis_watcher = CrisisWatcher(
        engine,
        config,
        ports=escalation_ports(config, lambda d: _client(config, d.allow_private_network), clock),
        audit=audit,
        metrics=gateway.services.metrics,
        clock=clock,
        public_url=settings.public_url,
    )
    return gateway


def create_app(gateway: Gateway) -> FastAPI:
    from gateway.api import consents, fhir, health, patients, referrals, triage
    from gateway.api import crisis as crisis_api
    from gateway.api import operations as operations_api
    from gateway.api import subscriptions as subscriptions_api
    from gateway.api import tasks as tasks_api
    from gateway.api.errors import install_error_handlers
    from gateway.api.limits import ConcurrencyLimit
    from gateway.auth.router import build_auth_router
    from gateway.console.router import build_console_router

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        stop = asyncio.Event()
        if gateway.settings.run_worker:
            await gateway.start_worker(stop)
        try:
            yield
        finally:
            stop.set()
            await gateway.close()

    app = FastAPI(
        title="Mental-health referral gateway",
        version=VERSION,
        description="Triage results in, consented FHIR R4 referrals out. See CONTRACT.md.",
        lifespan=lifespan,
    )
    app.state.services = gateway.services
    app.state.token_verifier = gateway.services.token_verifier
    install_error_handlers(app)
    app.add_middleware(ConcurrencyLimit, limit=gateway.settings.max_concurrent_requests)
    app.include_router(build_auth_router(gateway.services.token_service))
    app.include_router(triage.router)
    app.include_router(referrals.router)
    app.include_router(crisis_api.router)
    app.include_router(consents.router)
    app.include_router(patients.router)
    app.include_router(tasks_api.router)
    app.include_router(subscriptions_api.router)
    app.include_router(fhir.router)
    app.include_router(health.router)
    app.include_router(operations_api.router)
    app.include_router(build_console_router())
    return app
