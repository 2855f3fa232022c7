"""Persistence: SQLAlchemy 2 Core tables, Alembic migrations, and small repositories.

SQLite (WAL) is the embedded default; PostgreSQL is selected by
``GATEWAY_DATABASE_URL``. Every intake is one transaction (referral, FHIR
resources, audit entry, outbox rows), so nothing is ever half-stored.
"""
