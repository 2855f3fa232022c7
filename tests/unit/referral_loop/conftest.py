"""Status sync and the loop run on SQLite and PostgreSQL (``database_url``)."""

from pg import database_url, pg_database_url, pg_server

__all__ = ["database_url", "pg_database_url", "pg_server"]
