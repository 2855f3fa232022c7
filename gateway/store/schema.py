"""Every table module, imported so ``metadata`` knows them all (migrations, tests)."""

from gateway.store import tables, tables_console, tables_crisis, tables_loop, tables_rights
from gateway.store.tables import metadata

__all__ = ["metadata", "tables", "tables_console", "tables_crisis", "tables_loop", "tables_rights"]
