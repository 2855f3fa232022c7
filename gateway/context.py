"""Time and ids come in as parameters where logic depends on them (DESIGN.md, convention 5)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from mappings.instants import fhir_instant

__all__ = ["Clock", "IdFactory", "fhir_instant", "new_uuid", "utc_now"]

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())
