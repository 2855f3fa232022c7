"""The v1 triage-result payload (CONTRACT.md, "Intake"), as plain pydantic models.

Plain pydantic rather than FHIR models on the request path: validating the
contract this way is ~20x cheaper than building fhir.resources models. Unknown
fields are refused (data minimisation: the gateway does not take what it does
not need), and every error names its field.

Every field that becomes a FHIR primitive is held to that primitive's R4 rule
(``mappings.fhir_primitives``) and to the text rules of ``gateway.intake.text``
(NFC, no control or bidirectional characters, not invisible-only), so what intake
accepts is what the worker's R4B check and an EHR's R4 validator accept.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    Tag,
)

from gateway.intake.signals import Signal
from gateway.intake.text import calendar_date, fhir_format, text_rule

_STRING, _URI = AfterValidator(text_rule("string")), AfterValidator(text_rule("uri"))
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _STRING
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), _STRING
]
Uri = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), _URI]
FreeText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    AfterValidator(text_rule("markdown", free_text=True)),
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]

FhirDate = Annotated[
    str, BeforeValidator(fhir_format("date", "a FHIR date: YYYY, YYYY-MM or a real YYYY-MM-DD"))
]
Instant = Annotated[
    AwareDatetime,
    BeforeValidator(fhir_format("instant", "a date-time with seconds and a time zone")),
]
CalendarDate = Annotated[date, BeforeValidator(calendar_date)]

RiskLevel = Literal["none", "low", "moderate", "high", "imminent"]
Pathway = Literal["crisis", "clinical", "community", "self-care"]
Urgency = Literal["routine", "urgent", "asap", "stat"]
ShareCategory = Literal["ehr", "crisis", "community"]
PurposeOfUse = Literal["TREAT", "ETREAT", "HPAYMT", "HOPERAT", "PUBHLTH", "HRESCH", "COC"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identifier(_Model):
    system: Uri
    value: Text


class HumanName(_Model):
    given: list[Text] = Field(default_factory=list, max_length=5)
    family: Text | None = None


class ContactPoint(_Model):
    system: Literal["phone", "email", "sms", "other"]
    value: Text
    use: Literal["home", "work", "mobile", "temp"] | None = None


class Address(_Model):
    postal_code: Annotated[ShortText, StringConstraints(max_length=20)] | None = None
    state: ShortText | None = None
    country: Annotated[ShortText, StringConstraints(min_length=2)] | None = None


class Patient(_Model):
    identifiers: list[Identifier] = Field(min_length=1, max_length=10)
    name: HumanName | None = None
    birth_date: FhirDate | None = None
    """A FHIR ``date``: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
    gender: Literal["male", "female", "other", "unknown"] | None = None
    telecom: list[ContactPoint] = Field(default_factory=list, max_length=10)
    address: Address | None = None
    preferred_language: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] | None
    ) = None


class Assessment(_Model):
    instrument: Code
    answers: list[StrictInt | StrictBool | None] = Field(max_length=50)
    completed_at: Instant | None = None
    total: int | None = None
    """Optional; when given it must equal the total the gateway computes."""


class Risk(_Model):
    level: RiskLevel
    confidence: float | None = Field(default=None, ge=0, le=1)
    rationale: FreeText | None = None
    signals: list[Signal] = Field(default_factory=list, max_length=20)
    """A closed vocabulary (``gateway.intake.signals``, docs/safety-signals.md)."""


class TriageModel(_Model):
    name: Text
    version: Text


class ReferralRequest(_Model):
    pathway: Pathway
    urgency: Urgency = "routine"
    note: FreeText | None = None


class InlineConsent(_Model):
    share_with: list[ShareCategory] = Field(max_length=3)
    """Empty is a valid consent that permits no one (CONTRACT.md v1.1)."""
    purposes: list[PurposeOfUse] = Field(min_length=1, max_length=7)
    expires: CalendarDate | None = None
    accepted_text_version: Annotated[Uri, StringConstraints(max_length=200)]
    """Becomes part of ``Consent.sourceAttachment.url`` (a FHIR ``url``: no whitespace)."""


class ConsentReference(_Model):
    consent_ref: Annotated[str, StringConstraints(pattern=r"^Consent/[A-Za-z0-9\-.]{1,64}$")]


def _consent_kind(value: object) -> str:
    """Which consent form the app sent, so errors speak of that form only."""
    if isinstance(value, dict) and "consent_ref" in value:
        return "reference"
    if isinstance(value, ConsentReference):
        return "reference"
    return "inline"


class TriageSubmission(_Model):
    triage_id: Annotated[Text, StringConstraints(max_length=128)]
    submitted_at: Instant
    patient: Patient
    assessments: list[Assessment] = Field(default_factory=list, max_length=10)
    risk: Risk
    model: TriageModel
    """Required: which model judged the risk is part of every explained referral."""
    request: ReferralRequest
    consent: Annotated[
        Annotated[InlineConsent, Tag("inline")] | Annotated[ConsentReference, Tag("reference")],
        Discriminator(_consent_kind),
    ]
