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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.base import Connector
from connectors.inbox import InboxConnector
from connectors.subscription_notify import SubscriptionNotifier
from connectors.webhooks import WebhookSender
from gateway import notify
from gateway.audit.recorder import AuditRecorder
from gateway.auth.access_tokens import (
    AccessTokenVerifier,
    GatewaySigningKey,
    TrustedIssuer,
)
from gateway.auth.client_keys import ClientKeyResolver, JwksCache
from gateway.auth.keyring import Keyring
from gateway.auth.token_endpoint import TokenService
from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.context import Clock, IdFactory, new_uuid, utc_now
from gateway.crisis.watcher import CrisisWatcher
from gateway.delivery.inbox import StoreInboxPublisher
from gateway.delivery.process import WorkerProcess
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.worker import DeliveryWorker, WorkerTuning
from gateway.destinations.factories import (
    ConnectorKit,
    build_connector,
    build_task_readers,
    ehr_client_seed,
    ehr_key_source,
    escalation_senders,
    outbound_client,
)
from gateway.fhir_task import destination_organization
from gateway.intake.batcher import IntakeBatcher
from gateway.intake.service import IntakeService
from gateway.logging import get_logger
from gateway.metrics import Metrics
from gateway.referral_loop.dispatcher import NotificationDispatcher
from gateway.referral_loop.loop_metrics import LoopMetrics
from gateway.referral_loop.outbox import on_task_changed
from gateway.referral_loop.runner import LoopRunner
from gateway.referral_loop.stalls import StallWatch
from gateway.referral_loop.status_sync import StatusSync
from gateway.services import Services
from gateway.settings import Settings
from gateway.store import fhir_store
from gateway.store.clients import DatabaseClientRegistry, DatabaseJtiStore, sync_config_clients
from gateway.store.db import create_engine, migrate
from gateway.store.restore import entries_behind_head
from gateway.store.signing_keys import DatabaseKeyStore
from gateway.trust.cards import card_url_for
from gateway.trust.drift import DriftMonitor
from gateway.trust.metrics import TrustMetrics

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
    "system/RiskAssessment.c",
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
    access_keyring: Keyring | None = None
    """The access-token signing keys (``gateway keys``), loaded at start."""
    signing_seed: GatewaySigningKey | None = None
    """The configured key file, stored as the first key when the database has none."""
    ehr_keyring: Keyring | None = None
    """The keys the gateway signs its client assertions to EHRs with (``--which ehr-client``)."""
    ehr_seed: GatewaySigningKey | None = None
    behind_audit_head: int | None = None
    """Audit entries the database lacks against ``GATEWAY_AUDIT_HEAD_FILE`` (a restore)."""
    drift_monitor: DriftMonitor | None = None
    _drift_task: asyncio.Task[None] | None = None
    worker_process: WorkerProcess | None = None
    """``gateway serve``'s worker as a child process, started after ``start``."""

    def use_worker_process(self, process: WorkerProcess) -> None:
        """Run the background work in ``process``: intake wakes it through its pipe."""
        self.worker_process = process
        self.services.wake_worker = process.wake
        self.services.worker_running = process.running

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
        if self.access_keyring is not None:
            await self.access_keyring.load(self.signing_seed)
        if self.ehr_keyring is not None:
            await self.ehr_keyring.load(self.ehr_seed)
        if self.settings.audit_head_file is not None:
            self.behind_audit_head = await entries_behind_head(
                self.engine, self.settings.audit_head_file
            )

    async def start_worker(self, stop: asyncio.Event) -> None:
        self._worker_task = asyncio.create_task(self._worker_loop(stop))
        if self.crisis_watcher is not None:
            self._watcher_task = asyncio.create_task(self.crisis_watcher.run(stop))
        if self.loop_runner is not None:
            self._loop_task = asyncio.create_task(self.loop_runner.run(stop))
        if self.drift_monitor is not None:
            self._drift_task = asyncio.create_task(self.drift_monitor.run(stop))

    async def _worker_loop(self, stop: asyncio.Event) -> None:
        """Deliver what is due; woken at once by intake, else every poll interval."""
        await self.worker.run(stop, self.settings.worker_poll_seconds, wake=self._wake)

    async def close(self) -> None:
        """Stop the background loops, then release what they use, last started first."""
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(self.engine.dispose)
            if self.worker_process is not None:
                stack.push_async_callback(self.worker_process.stop)
            stack.push_async_callback(self.http.aclose)
            for connector in self.connectors.values():
                stack.push_async_callback(connector.aclose)
            stack.push_async_callback(_stopped, self._worker_task)
            if self.crisis_watcher is not None:
                stack.push_async_callback(self.crisis_watcher.aclose)
                stack.push_async_callback(_stopped, self._watcher_task)
            if self.loop_runner is not None:
                stack.push_async_callback(self.loop_runner.aclose)
                stack.push_async_callback(_stopped, self._loop_task)
            if self.drift_monitor is not None:
                stack.push_async_callback(self.drift_monitor.aclose)
                stack.push_async_callback(_stopped, self._drift_task)


async def _stopped(task: asyncio.Task[None] | None) -> None:
    """Cancel a background loop and wait until it has ended."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _sync_destination_organizations(
    conn: AsyncConnection, config: GatewayConfig, now: datetime
) -> None:
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


def build_loop_runner(
    gateway: Gateway, retry_policy: RetryPolicy, worker_id: str, kit: ConnectorKit
) -> LoopRunner:
    """Notification dispatcher, stall watch and EHR status sync (docs/closing-the-loop.md)."""
    services, config = gateway.services, gateway.config
    hooks_http = outbound_client(
        config
    )  # app webhooks and subscription endpoints: outbound.allow_private
    dispatcher = NotificationDispatcher(
        services.engine,
        clock=services.clock,
        webhooks=lambda url, secret: WebhookSender(url, secret, hooks_http, what="app webhook"),
        subscription_notifier=SubscriptionNotifier(hooks_http),
        policy=retry_policy,
        public_url=services.settings.public_url,
        metrics=services.metrics,
        worker_id=worker_id,
    )
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
            readers=build_task_readers(kit),
            public_url=services.settings.public_url,
            new_secret=lambda: secrets.token_urlsafe(32),
            holder=worker_id,
        ),
        poll_seconds=services.settings.worker_poll_seconds,
    )


def _metrics() -> Metrics:
    """The gateway's metrics, the closed loop's scrape-time gauges among them."""
    metrics = Metrics()
    metrics.also_refresh(LoopMetrics(metrics.registry).refresh)
    return metrics


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
    notify.listen(on_task_changed)
    engine = create_engine(settings.database_url)
    audit = AuditRecorder(engine, clock, settings.public_url)
    ehr_keyring = Keyring(DatabaseKeyStore(engine, clock), "ehr-client", clock)
    kit = ConnectorKit(
        config,
        InboxConnector(StoreInboxPublisher(engine, clock)),
        ehr_keys=ehr_key_source(ehr_keyring),
    )
    if connectors is None:
        connectors = {d.name: build_connector(d, kit) for d in config.destinations}
    http = outbound_client(config)
    jwks_cache = JwksCache(http, clock=clock)
    signing_key = load_signing_key(settings)
    access_keyring = Keyring(DatabaseKeyStore(engine, clock), "access-tokens", clock)
    token_service = TokenService(
        public_url=settings.public_url,
        token_url=settings.token_url,
        clients=DatabaseClientRegistry(engine),
        jti_store=DatabaseJtiStore(engine, clock),
        key_resolver=ClientKeyResolver(jwks_cache),
        signing_key=access_keyring,
        audit=audit,
        clock=clock,
        scopes_supported=SCOPES_SUPPORTED,
    )
    own_keys = TrustedIssuer.gateway_keyring(access_keyring.verification_keys, settings.public_url)
    issuers = [own_keys] + [
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
    intake = IntakeService(
        config,
        clock,
        new_id,
        audit,
        model_card_url=card_url_for(config.models, settings.public_url),
    )
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
            metrics=_metrics(),
            started_at=clock(),
            version=VERSION,
            wake_worker=wake.set,
            worker_running=lambda: False,
        ),
        worker=worker,
        connectors=connectors,
        http=http,
        _wake=wake,
        access_keyring=access_keyring,
        signing_seed=signing_key,
        ehr_keyring=ehr_keyring,
        ehr_seed=ehr_client_seed(config),
    )
    gateway.services.worker_running = gateway.worker_running
    worker.metrics = gateway.services.metrics
    runner = build_loop_runner(
        gateway,
        retry_policy or RetryPolicy(),
        worker_id or f"{socket.gethostname()}:{os.getpid()}",
        kit,
    )
    gateway.loop_runner = runner
    hook = config.drift.webhook
    drift = DriftMonitor(
        engine,
        config,
        clock=clock,
        notify=WebhookSender(hook.url, hook.secret, http, what="operator webhook")
        if hook
        else None,
    )
    gateway.drift_monitor = drift
    trust_metrics = TrustMetrics(gateway.services.metrics.registry)
    trust_metrics.monitor = drift
    # The drift check writes: on SQLite it must run before the scrape's transaction.
    gateway.services.metrics.also_refresh(trust_metrics.refresh, before=trust_metrics.check_drift)

    def wake_all() -> None:
        wake.set()
        runner.wake.set()
        drift.wake.set()

    gateway.services.wake_worker = wake_all
    gateway.crisis_watcher = CrisisWatcher(
        engine,
        config,
        ports=escalation_senders(config, lambda d: kit.client(d.allow_private_network), clock),
        audit=audit,
        metrics=gateway.services.metrics,
        clock=clock,
        public_url=settings.public_url,
    )
    return gateway
