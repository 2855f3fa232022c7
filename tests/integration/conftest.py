"""Shared fixtures: a real FHIR server as the EHR (``sekmet``), PostgreSQL (``pg``) and an
external OAuth server (``oidc``)."""

from oidc import oidc_provider
from pg import database_url, pg_database_url, pg_server
from sekmet import ehr, smart_ehr

__all__ = [
    "database_url", "ehr", "oidc_provider", "pg_database_url", "pg_server", "smart_ehr",
]
