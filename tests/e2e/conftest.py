"""Shared fixtures: a real FHIR server as the EHR (``sekmet``) and PostgreSQL (``pg``)."""

from pg import database_url, pg_database_url, pg_server
from sekmet import ehr, smart_ehr

__all__ = ["database_url", "ehr", "pg_database_url", "pg_server", "smart_ehr"]
