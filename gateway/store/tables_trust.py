"""Tables of the trust features: clinicians' reviews of the AI's risk level, drift alert state.

Migration: ``gateway/store/migrations/versions/0015_trust.py``.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, String, Table, Text

from gateway.store.tables import UtcDateTime, metadata

reviews = Table(
    "trust_reviews",
    metadata,
    Column("referral_id", String(36), primary_key=True),
    Column("reviewer", String(250), primary_key=True),
    # "client:<client_id>" or "user:<console username>": one review per reviewer, the latest.
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(100), nullable=False),
    Column("reviewer_display", String(200), nullable=False),
    Column("client_id", String(200)),
    Column("risk_level", String(16), nullable=False),
    Column("ai_risk_level", String(16), nullable=False),
    Column("note", Text),
    Column("risk_assessment_id", String(64), nullable=False),
    Column("provenance_id", String(64), nullable=False),
    Column("first_reviewed_at", UtcDateTime(), nullable=False),
    Column("reviewed_at", UtcDateTime(), nullable=False),
)

drift_alerts = Table(
    "trust_drift_alerts",
    metadata,
    Column("model", String(200), primary_key=True),
    Column("version", String(100), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("reason", Text),
    Column("psi", Float),
    Column("under_triage_rate", Float),
    Column("referrals", Integer, nullable=False),
    Column("reviews", Integer, nullable=False),
    Column("since", UtcDateTime(), nullable=False),
    # When ``active`` last changed: the crossing.
    Column("checked_at", UtcDateTime(), nullable=False),
)
