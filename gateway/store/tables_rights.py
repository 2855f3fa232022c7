"""Erasure registry: a keyed hash of an erased person's identifier -> their old local ids.

Lets the gateway still answer an accounting of disclosures after erasure without
keeping the identifier itself.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from gateway.store.tables import UtcDateTime, metadata

erased_patients = Table(
    "erased_patients",
    metadata,
    Column("identifier_hash", String(64), primary_key=True),
    Column("patient_id", String(64), primary_key=True),
    Column("erased_at", UtcDateTime(), nullable=False),
)
