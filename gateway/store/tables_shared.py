"""State several worker processes share about a destination (docs/delivery.md,
"Several workers"): whose turn it is to poll its Tasks."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from gateway.store.tables import UtcDateTime, metadata

poll_leases = Table(
    "loop_poll_leases",
    metadata,
    Column("destination", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("lease_until", UtcDateTime()),
    # NULL: nobody polls now. A holder that dies leaves a lease that runs out.
)
