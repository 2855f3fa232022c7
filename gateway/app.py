"""The web app: middleware, routers and the CDS Hooks service, around a wired ``Gateway``.

The other half of the composition root (``gateway.bootstrap`` wires the rooms; this
module puts them behind HTTP). Middleware, outermost first: the shutdown answer, the
intake admission queue, JSON-only FHIR, destination membership refresh, the general
concurrency limit (docs/performance.md, docs/fhir-api.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI

from connectors.fhir_patient import FhirPatientReader
from gateway.auth.access_tokens import Principal
from gateway.auth.client_keys import JwksCache
from gateway.bootstrap import VERSION, Gateway
from gateway.cds.api import CdsHooks, build_cds_router
from gateway.cds.cors import CorsPolicy
from gateway.cds.feedback import FeedbackService
from gateway.cds.service import PatientViewService
from gateway.cds.trust import CdsJwtVerifier
from gateway.destination_members import DestinationMembers, MembershipRefresh
from gateway.store.clients import DatabaseClientRegistry, DatabaseJtiStore


def build_cds_hooks(gateway: Gateway) -> CdsHooks:
    """The CDS Hooks service (docs/cds-hooks.md): keys and Patients through ``gateway.http``."""
    services = gateway.services
    return CdsHooks(
        verifier=CdsJwtVerifier(
            gateway.config.cds_clients,
            jwks_cache=JwksCache(gateway.http, clock=services.clock),
            jti_store=DatabaseJtiStore(services.engine, services.clock),
        ),
        patient_view=PatientViewService(
            services.engine,
            services.audit,
            services.clock,
            services.settings.public_url,
            FhirPatientReader(gateway.http),
        ),
        feedback=FeedbackService(services.engine, services.clock),
        public_url=services.settings.public_url,
        clock=services.clock,
        max_body_bytes=services.settings.max_body_bytes,
        cors=CorsPolicy(gateway.config.cds_clients),
    )


def create_app(gateway: Gateway) -> FastAPI:
    from gateway.api import consents, fhir, health, patients, referrals, triage
    from gateway.api import crisis as crisis_api
    from gateway.api import operations as operations_api
    from gateway.api import subscriptions as subscriptions_api
    from gateway.api import tasks as tasks_api
    from gateway.api import trust as trust_api
    from gateway.api.admission import IntakeAdmission
    from gateway.api.ehr_client_jwks import build_ehr_jwks_router
    from gateway.api.errors import install_error_handlers
    from gateway.api.fhir_format import JsonOnly
    from gateway.api.limits import ConcurrencyLimit
    from gateway.api.rate_limit import RateLimiter
    from gateway.api.shutdown import AnswerOnShutdown
    from gateway.auth.router import build_auth_router
    from gateway.console.router import build_console_router
    from gateway.openapi_truth import truthful_openapi

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        stop = asyncio.Event()
        if gateway.worker_process is not None:
            gateway.worker_process.start()
        elif gateway.settings.run_worker:
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
    app.openapi = lambda: truthful_openapi(app)  # type: ignore[method-assign]
    app.state.services = gateway.services
    app.state.token_verifier = gateway.services.token_verifier
    registry = DatabaseClientRegistry(gateway.engine)
    public_url = gateway.settings.public_url

    async def client_registered(principal: Principal) -> bool:
        # Clients of external issuers are theirs to revoke; ours are shut out at once.
        return principal.issuer != public_url or await registry.is_registered(
            principal.client_id
        )

    app.state.client_registered = client_registered
    install_error_handlers(app)
    app.add_middleware(ConcurrencyLimit, limit=gateway.settings.max_concurrent_requests)
    app.add_middleware(
        MembershipRefresh, members=DestinationMembers(gateway.config), engine=gateway.engine
    )
    app.add_middleware(JsonOnly)
    shed = gateway.services.metrics.intake_shed
    app.add_middleware(
        IntakeAdmission,
        capacity=gateway.settings.intake_capacity,
        crisis_reserve=gateway.settings.intake_crisis_reserve,
        max_body_bytes=gateway.settings.max_body_bytes,
        on_shed=lambda priority: shed.labels(priority=priority).inc(),
        shed_delay_seconds=gateway.settings.intake_shed_delay_seconds,
    )
    app.state.rate_limiter = RateLimiter(
        {c.client_id: c.rate_limit for c in gateway.config.clients if c.rate_limit},
        clock=time.monotonic,
    )
    app.add_middleware(AnswerOnShutdown)
    app.include_router(build_auth_router(gateway.services.token_service))
    app.include_router(build_ehr_jwks_router(gateway.ehr_keyring))
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
    app.include_router(build_cds_router(build_cds_hooks(gateway)))
    app.include_router(trust_api.router)
    app.include_router(build_console_router())
    return app
