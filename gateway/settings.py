"""Process settings: the only module that reads the environment.

Everything else receives a ``Settings`` (and the parsed YAML ``GatewayConfig``)
as an argument. Variables are prefixed ``GATEWAY_`` (CONTRACT.md, "Starting it").
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str = ""
    """The URL callers reach the gateway at; default ``http://{host}:{port}``."""
    database_url: str = "sqlite+aiosqlite:///./var/gateway.db"
    config: Path | None = None
    """The YAML file of clients, issuers, destinations, routing and consent policy."""
    signing_key_file: Path | None = None
    """PEM key the gateway signs access tokens with; generated under ./var when unset."""
    run_worker: bool = True
    """Run the outbox worker inside ``gateway serve``."""
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    worker_lease_seconds: float = Field(default=60.0, gt=0)
    """How long a claimed delivery stays a worker's before another may claim it again."""
    circuit_failure_threshold: int = Field(default=5, ge=1)
    """Consecutive transient failures that open a destination's circuit."""
    circuit_cool_down_seconds: float = Field(default=30.0, ge=0)
    test_crash_at: Literal["after-claim", "after-deliver"] | None = None
    """TEST-ONLY (crash-safety tests): the worker kills itself with SIGKILL at this point."""
    max_body_bytes: int = Field(default=256 * 1024, gt=0)
    max_concurrent_requests: int = Field(default=64, gt=0)
    """Requests beyond this many in flight are answered 503 at once instead of queueing
    (intake has its own queue, below)."""
    intake_capacity: int = Field(default=64, gt=1)
    """Triage submissions in flight at most (intake's admission queue); beyond it, 503."""
    intake_crisis_reserve: int = Field(default=8, ge=0)
    """Places of ``intake_capacity`` only a possibly urgent submission may take."""
    intake_shed_delay_seconds: float = Field(default=0.0, ge=0, le=0.09)
    """Hold a 503 this long before sending it (no resource held), so clients that retry at
    once cannot spin the event loop away from accepted work."""
    log_level: str = "INFO"
    audit_head_file: Path | None = None
    """An audit head exported earlier (``gateway audit head``) and kept outside the
    database: at start the gateway says so when its database is behind it (a restore)."""
    audit_hash_key: str = ""
    """Key of the hash that replaces a person's identifiers in audit kept after erasure."""

    @model_validator(mode="after")
    def _no_crash_hook_in_production(self) -> Settings:
        if self.env == "production" and self.test_crash_at is not None:
            raise ValueError("GATEWAY_TEST_CRASH_AT is for tests only, refused in production")
        return self

    @model_validator(mode="after")
    def _reserve_below_capacity(self) -> Settings:
        if self.intake_crisis_reserve >= self.intake_capacity:
            raise ValueError("GATEWAY_INTAKE_CRISIS_RESERVE must be below GATEWAY_INTAKE_CAPACITY")
        return self

    @model_validator(mode="after")
    def _derive_public_url(self) -> Settings:
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def token_url(self) -> str:
        return f"{self.public_url}/auth/token"
