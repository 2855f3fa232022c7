"""Plain facts read from FHIR R4 resources for a page: a name, phone numbers, a language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.context import fhir_instant


def person_name(patient: dict[str, Any] | None) -> str:
    """HumanName (R4 datatypes.html#HumanName): ``text``, else given names and family."""
    if not patient:
        return "(name not shared)"
    for name in patient.get("name") or []:
        if name.get("text"):
            return str(name["text"])
        parts = [*name.get("given", []), name.get("family", "")]
        joined = " ".join(p for p in parts if p)
        if joined:
            return joined
    return "(no name given)"


def phones(patient: dict[str, Any] | None) -> list[str]:
    return [
        str(t["value"])
        for t in (patient or {}).get("telecom") or []
        if t.get("system") in ("phone", "sms") and t.get("value")
    ]


def language(patient: dict[str, Any] | None) -> str | None:
    for communication in (patient or {}).get("communication") or []:
        concept = communication.get("language") or {}
        for coding in concept.get("coding") or []:
            if coding.get("code"):
                return str(coding.get("display") or coding["code"])
        if concept.get("text"):
            return str(concept["text"])
    return None


def instant(moment: datetime | None) -> str:
    """A UTC instant for a ``datetime`` attribute in the page (the script counts from it)."""
    return fhir_instant(moment) if moment is not None else ""


def shown(moment: datetime | None) -> str:
    """A moment as a person reads it on a page (not a FHIR instant): UTC, to the second."""
    if moment is None:
        return "—"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
