"""The v1 triage-result payload (CONTRACT.md, "Intake"), as plain pydantic models.

Plain pydantic rather than FHIR models on the request path: validating the
contract this way is ~20x cheaper than building fhir.resources models. Unknown
fields are refused (data minimisation: the gateway does not take what it does
not need), and every error names its field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
FreeText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]

FhirDate = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"),
]

RiskLevel = Literal["none", "low", "moderate", "high", "imminent"]
Pathway = Literal["crisis", "clinical", "community", "self-care"]
Urgency = Literal["routine", "urgent", "asap", "stat"]
ShareCategory = Literal["ehr", "crisis", "community"]
PurposeOfUse = Literal["TREAT", "ETREAT", "HPAYMT", "HOPERAT", "PUBHLTH", "HRESCH", "COC"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identifier(_Model):
    system: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    value: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class HumanName(_Model):
    given: list[Text] = Field(default_factory=list, max_length=5)
    family: Text | None = None


class ContactPoint(_Model):
    system: Literal["phone", "email", "sms", "other"]
    value: Text
    use: Literal["home", "work", "mobile", "temp"] | None = None


class Address(_Model):
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=20)] | None = None
    state: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    country: Annotated[str, StringConstraints(min_length=2, max_length=50)] | None = None


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
    completed_at: AwareDatetime | None = None
    total: int | None = None
    """Optional; when given it must equal the total the gateway computes."""


class Risk(_Model):
    level: RiskLevel
    confidence: float | None = Field(default=None, ge=0, le=1)
    rationale: FreeText | None = None
    signals: list[Code] = Field(default_factory=list, max_length=20)


class TriageModel(_Model):
    name: Text
    version: Text


class ReferralRequest(_Model):
    pathway: Pathway
    urgency: Urgency = "routine"
    note: FreeText | None = None


class InlineConsent(_Model):
    share_with: list[ShareCategory] = Field(min_length=1, max_length=3)
    purposes: list[PurposeOfUse] = Field(min_length=1, max_length=7)
    expires: date | None = None
    accepted_text_version: Text


class ConsentReference(_Model):
    consent_ref: Annotated[str, StringConstraints(pattern=r"^Consent/[A-Za-z0-9\-.]{1,64}$")]


class TriageSubmission(_Model):
    triage_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    submitted_at: AwareDatetime
    patient: Patient
    assessments: list[Assessment] = Field(default_factory=list, max_length=10)
    risk: Risk
    model: TriageModel | None = None
    request: ReferralRequest
    consent: InlineConsent | ConsentReference
