"""FHIR search parameters the gateway supports, parsed into a ``SearchQuery``.

http://hl7.org/fhir/R4/search.html. Supported on every served type: ``_id``,
``identifier``, ``patient``, ``status``, ``_lastUpdated`` (prefixes eq gt ge lt le),
``_count``; ``owner`` on Task. Parameters the gateway does not support are
ignored, as R4 §3.1.1.5 allows, and are left out of the Bundle's self link so the
caller can see what was applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from gateway.errors import InvalidInput, Issue
from gateway.store.fhir_store import SearchQuery

SERVED_TYPES = (
    "ServiceRequest",
    "Task",
    "Patient",
    "Observation",
    "QuestionnaireResponse",
    "RiskAssessment",
    "Provenance",
    "Consent",
    "AuditEvent",
    "Organization",
    "Device",
)
COMMON_PARAMS = ("_id", "identifier", "patient", "status", "_lastUpdated", "_count", "_offset")
TYPE_PARAMS = {"Task": ("owner",)}
MAX_COUNT = 200


def supported_params(resource_type: str) -> tuple[str, ...]:
    return COMMON_PARAMS + TYPE_PARAMS.get(resource_type, ())


def _bad(param: str, message: str) -> InvalidInput:
    return InvalidInput(f"{param}: {message}", issues=[Issue(f"{param}: {message}", param)])


def _instant(param: str, text: str) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(param, f"'{text}' is not a FHIR date or instant") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(param: str, text: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise _bad(param, f"must be a whole number from {low} to {high}")
    return int(text)


def parse_search(
    resource_type: str, params: Iterable[tuple[str, str]], *, client_id: str | None
) -> tuple[SearchQuery, list[tuple[str, str]]]:
    """The query, and the (name, value) pairs that were applied (for the self link)."""
    applied: list[tuple[str, str]] = []
    fields: dict[str, object] = {"resource_type": resource_type, "client_id": client_id}
    last_updated = []
    allowed = supported_params(resource_type)
    for name, value in params:
        base = name.split(":", 1)[0]
        if base not in allowed:
            continue
        applied.append((name, value))
        if base == "_id":
            fields["ids"] = [v for v in value.split(",") if v]
        elif base == "identifier":
            system, sep, code = value.partition("|")
            fields["identifier"] = (system, code) if sep else (None, value)
        elif base == "patient":
            fields["patient_id"] = value.removeprefix("Patient/")
        elif base == "status":
            fields["statuses"] = [v for v in value.split(",") if v]
        elif base == "owner":
            fields["owner"] = value if "/" in value else f"Organization/{value}"
        elif base == "_lastUpdated":
            prefix = value[:2] if value[:2] in {"eq", "gt", "ge", "lt", "le"} else "eq"
            text = value[2:] if value[:2] == prefix else value
            last_updated.append((prefix, _instant(name, text)))
        elif base == "_count":
            fields["count"] = _int(name, value, 0, MAX_COUNT)
        elif base == "_offset":
            fields["offset"] = _int(name, value, 0, 10**9)
    if last_updated:
        fields["last_updated"] = last_updated
    return SearchQuery(**fields), applied  # type: ignore[arg-type]
