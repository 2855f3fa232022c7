"""Tables of the crisis path: acknowledgements, escalation steps, emergency-disclosure reviews."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from gateway.store.tables import UtcDateTime, metadata

crisis_acknowledgements = Table(
    "crisis_acknowledgements",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    # One acknowledgement per crisis delivery: the first one is kept.
    Column("referral_id", String(36), nullable=False, index=True),
    Column("destination", String(100), nullable=False),
    Column("acknowledged_by", String(200), nullable=False),
    # The person who acknowledged, as they named themselves ("by").
    Column("client_id", String(200), nullable=False),
    # The authenticated client that sent the acknowledgement.
    Column("note", Text),
    Column("acknowledged_at", UtcDateTime(), nullable=False),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", String(36), nullable=False, index=True),
    Column("delivery_id", String(36), nullable=False),
    Column("destination", String(100), nullable=False),
    Column("step", Integer, nullable=False),
    # 1, 2, ...: one per SLA period without an acknowledgement.
    Column("contact", String(200), nullable=False),
    Column("reason", String(16), nullable=False),
    # sla | dead-letter
    Column("outcome", String(16), nullable=False),
    # sending | sent | failed | alerted
    Column("detail", Text),
    Column("at", UtcDateTime(), nullable=False),
    UniqueConstraint("delivery_id", "step", name="uq_escalations_delivery_step"),
    Index("ix_escalations_delivery", "delivery_id"),
)

emergency_disclosure_reviews = Table(
    "emergency_disclosure_reviews",
    metadata,
    Column("audit_seq", Integer, primary_key=True, autoincrement=False),
    # The ``audit_log.seq`` of the emergency disclosure reviewed.
    Column("reviewed_by", String(200), nullable=False),
    Column("client_id", String(200), nullable=False),
    Column("note", Text),
    Column("reviewed_at", UtcDateTime(), nullable=False),
)
