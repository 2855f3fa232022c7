"""Every table module, imported so ``metadata`` knows them all (migrations, tests)."""

from gateway.store import tables
from gateway.store.tables import metadata

__all__ = ["metadata", "tables"]
