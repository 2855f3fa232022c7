"""Every table module, imported so ``metadata`` knows them all (migrations, tests)."""

from gateway.store import (
    tables,
    tables_cds,
    tables_console,
    tables_crisis,
    tables_destinations,
    tables_keys,
    tables_loop,
    tables_ops,
    tables_rights,
    tables_shared,
    tables_trust,
)
from gateway.store.tables import metadata

__all__ = [
    "metadata",
    "tables",
    "tables_cds",
    "tables_console",
    "tables_crisis",
    "tables_destinations",
    "tables_keys",
    "tables_loop",
    "tables_ops",
    "tables_rights",
    "tables_shared",
    "tables_trust",
]
