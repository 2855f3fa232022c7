"""The one formatter of FHIR ``instant`` values (http://hl7.org/fhir/R4/datatypes.html#instant).

It lives in the pure layer so every package may use it (``connectors`` may not import
``gateway``); the gateway reaches it as ``gateway.context.fhir_instant``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Precision = Literal["milliseconds", "auto"]


def fhir_instant(moment: datetime, precision: Precision = "milliseconds") -> str:
    """``moment`` in UTC with a ``Z``: to the millisecond, or (``auto``) to its own precision.

    ``auto`` keeps whole seconds whole and microseconds as they are, so an instant read
    back compares equal to the stored moment (``meta.lastUpdated`` against ``_lastUpdated``).
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=precision) + "Z"
