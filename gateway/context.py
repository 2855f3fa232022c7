"""Time and ids come in as parameters where logic depends on them (DESIGN.md, convention 5)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


def fhir_instant(moment: datetime) -> str:
    """A FHIR ``instant`` (http://hl7.org/fhir/R4/datatypes.html#instant), in UTC, to the ms."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
