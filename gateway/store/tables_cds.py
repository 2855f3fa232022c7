"""CDS Hooks: the cards shown to each EHR, and the feedback its clinicians gave on them.

``cds_cards`` lets feedback name only a card the gateway issued to that EHR (CDS
Hooks 2.0 "Feedback": ``card`` is the ``card.uuid`` from a response); ``cds_feedback``
keeps each outcome with the model version whose output the card showed, so the
transparency report counts it per model version.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from gateway.store.tables import UtcDateTime, metadata

cds_cards = Table(
    "cds_cards",
    metadata,
    Column("card_uuid", String(36), primary_key=True),
    Column("iss", String(500), primary_key=True),
    Column("referral_id", String(36), nullable=False, index=True),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(100), nullable=False),
    Column("first_issued_at", UtcDateTime(), nullable=False),
    Column("last_issued_at", UtcDateTime(), nullable=False),
)

cds_feedback = Table(
    "cds_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", String(36), nullable=False),
    Column("card_uuid", String(36), nullable=False),
    Column("iss", String(500), nullable=False),
    Column("outcome", String(16), nullable=False),
    # accepted | overridden
    Column("override_reason", String(500)),
    # the chosen reason's code system|code and display; never the clinician's free text
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(100), nullable=False),
    Column("outcome_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index("ix_cds_feedback_referral", "referral_id", "card_uuid"),
)

__all__ = ["cds_cards", "cds_feedback"]
