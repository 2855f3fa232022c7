"""The body of a CDS Hooks call and of a feedback call, as typed models.

CDS Hooks 2.0 §"Calling a CDS Service" (``hook``, ``hookInstance``, ``fhirServer``,
``fhirAuthorization``, ``context``, ``prefetch``), the ``patient-view`` hook's context
(``userId``, ``patientId``, ``encounterId``) and §"Feedback" (``card``, ``outcome``,
``overrideReason``, ``outcomeTimestamp``). Unknown members are allowed: the spec
reserves ``extension`` and clients add more.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(_Open):
    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"  # noqa: S105 (the spec's fixed value, not a secret)
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None


class PatientViewContext(_Open):
    patientId: str = Field(min_length=1, max_length=64)
    userId: str | None = None
    encounterId: str | None = None


class HookRequest(_Open):
    hook: Literal["patient-view"]
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None


class Coding(_Open):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class OverrideReason(_Open):
    reason: Coding | None = None
    userComment: str | None = None


class FeedbackItem(_Open):
    card: str = Field(min_length=1, max_length=64)
    outcome: Literal["accepted", "overridden"]
    outcomeTimestamp: datetime | None = None
    """REQUIRED by the spec, in UTC; a time without an offset is read as UTC, and a
    missing one is taken as the time the feedback arrived."""
    overrideReason: OverrideReason | None = None
    overrideReasons: list[Coding] | None = None
    """Accepted as well: the plural some clients send."""
    acceptedSuggestions: list[dict[str, Any]] | None = None

    @field_validator("outcomeTimestamp")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def reason_text(self) -> str | None:
        """The chosen coded reason as ``system|code display``; never the free-text comment."""
        chosen = self.overrideReason.reason if self.overrideReason else None
        if chosen is None and self.overrideReasons:
            chosen = self.overrideReasons[0]
        if chosen is None:
            return None
        parts = [f"{chosen.system or ''}|{chosen.code or ''}", chosen.display or ""]
        return " ".join(p for p in parts if p and p != "|")[:500] or None


class FeedbackRequest(_Open):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)
