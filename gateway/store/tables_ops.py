"""Operator switches that every process reads per request (``gateway models pause``)."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from gateway.store.tables import UtcDateTime, metadata

paused_models = Table(
    "paused_models",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("version", String(100), primary_key=True),
    Column("paused_at", UtcDateTime(), nullable=False),
    Column("paused_by", String(200), nullable=False),
    Column("reason", Text),
)
