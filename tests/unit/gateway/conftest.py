"""The API tests of consent, patient rights and the audit run on SQLite and PostgreSQL."""

from pg import database_url, pg_database_url, pg_server

__all__ = ["database_url", "pg_database_url", "pg_server"]
