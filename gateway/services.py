"""What the web layer may use: intake, storage, auth, metrics. Never a connector.

The composition root (``gateway.bootstrap``) builds this alongside the worker and
connectors, which the web layer does not see (DESIGN.md: intake stores, the
worker delivers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit.recorder import AuditRecorder
from gateway.auth.access_tokens import AccessTokenVerifier
from gateway.auth.token_endpoint import TokenService
from gateway.config import GatewayConfig
from gateway.context import Clock, IdFactory
from gateway.intake.batcher import IntakeBatcher
from gateway.intake.service import IntakeService
from gateway.metrics import Metrics
from gateway.settings import Settings


@dataclass(slots=True, kw_only=True)
class Services:
    """Everything a router may use, built once by ``gateway.bootstrap``.

    Slotted: assigning a field that does not exist fails instead of adding one, so a
    router cannot grow the bag by accident.
    """

    settings: Settings
    config: GatewayConfig
    engine: AsyncEngine
    clock: Clock
    new_id: IdFactory
    audit: AuditRecorder
    intake: IntakeService
    intake_batcher: IntakeBatcher
    token_service: TokenService
    token_verifier: AccessTokenVerifier
    metrics: Metrics
    started_at: datetime
    version: str
    wake_worker: Callable[[], None]
    """Tell the in-process worker new work is waiting (a no-op without one)."""
    worker_running: Callable[[], bool]
