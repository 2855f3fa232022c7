"""Table definitions. Migrations in ``gateway/store/migrations`` must match these."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, aware UTC out, on SQLite (which stores naive) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the gateway stores aware UTC instants only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

referrals = Table(
    "referrals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("client_id", String(200), nullable=False),
    Column("triage_id", String(128), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("risk_level", String(16), nullable=False),
    Column("pathway", String(16), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("patient_id", String(64), nullable=False, index=True),
    Column("consent_id", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("bundle", LargeBinary, nullable=False),
    # The transaction Bundle as mapped, before per-destination minimisation.
    Column("response", LargeBinary, nullable=False),
    # The 202 body, replayed verbatim for an idempotent retry.
    Column("routing", LargeBinary, nullable=False),
    Column("explanation", LargeBinary, nullable=False),
    UniqueConstraint("client_id", "triage_id", name="uq_referrals_client_triage"),
)

fhir_resources = Table(
    "fhir_resources",
    metadata,
    Column("resource_type", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", UtcDateTime(), nullable=False),
    Column("referral_id", String(36), index=True),
    Column("patient_id", String(64), index=True),
    Column("client_id", String(200)),
    # The triage app whose submission produced the resource (who may read it).
    Column("status", String(32)),
    Column("owner", String(200)),
    # For a Task: the destination that owns it.
    Column("published", Boolean, nullable=False, default=True),
    # False until delivered: an inbox Task is not shown to its owner before then.
    Column("body", LargeBinary, nullable=False),
    Index("ix_fhir_resources_type_updated", "resource_type", "last_updated"),
)

resource_identifiers = Table(
    "resource_identifiers",
    metadata,
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("system", String(500), nullable=False),
    Column("value", String(200), nullable=False),
    Index("ix_resource_identifiers_lookup", "resource_type", "system", "value"),
    Index("ix_resource_identifiers_resource", "resource_type", "resource_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("referral_id", String(36), nullable=False, index=True),
    Column("destination", String(100), nullable=False),
    Column("lane", Integer, nullable=False),
    # 0 crisis, 1 urgent, 2 routine: claimed in that order.
    Column("status", String(16), nullable=False),
    # a DeliveryStatus (gateway.delivery.status), moved only as it allows
    Column("purpose", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("lease_until", UtcDateTime()),
    Column("claimed_by", String(100)),
    Column("last_error", Text),
    Column("receipt", LargeBinary),
    Column("task_id", String(64)),
    # The local Task that tracks this delivery's closed loop.
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime()),
    Index("ix_deliveries_claim", "status", "lane", "next_attempt_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    # an AttemptOutcome (gateway.delivery.status)
    Column("status_code", Integer),
    Column("detail", Text),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("referral_id", String(36), index=True),
    Column("patient_id", String(64), index=True),
    Column("entry", LargeBinary, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
    Column("chain_hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("chain_hash", String(64), nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(200), primary_key=True),
    Column("jwks", LargeBinary),
    Column("jwks_uri", String(500)),
    Column("scopes", Text, nullable=False),
    Column("webhook_url", String(500)),
    Column("webhook_secret", String(200)),
    Column("source", String(16), nullable=False),
    # config (from the YAML file, refreshed at start) or cli (``gateway clients add``).
    Column("created_at", UtcDateTime(), nullable=False),
)

used_jti = Table(
    "used_jti",
    metadata,
    Column("client_id", String(200), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
)
