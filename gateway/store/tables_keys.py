"""The gateway's own signing keys, shared by every process (``gateway keys``)."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, String, Table

from gateway.store.tables import UtcDateTime, metadata

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(128), primary_key=True),
    Column("purpose", String(32), nullable=False, index=True),
    # access-tokens (the tokens /auth/token issues) or ehr-client (assertions to EHRs)
    Column("alg", String(8), nullable=False),
    Column("private_pem", LargeBinary),
    # wiped once the key is retired: a retired key never signs again
    Column("public_jwk", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("retired_at", UtcDateTime()),
    # null while it signs; from then on published only until what it signed has expired
    Column("unpublish_at", UtcDateTime()),
)
