"""Run-time membership of ``destinations[].clients`` (``gateway destinations add-client``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, String, Table

from gateway.store.tables import UtcDateTime, metadata

destination_clients = Table(
    "destination_clients",
    metadata,
    Column("destination", String(100), primary_key=True),
    Column("client_id", String(200), primary_key=True),
    # True: the client acts for the destination; False: removed, even if the YAML names it.
    Column("member", Boolean, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
)
