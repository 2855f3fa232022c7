"""Code systems and codes the consent package speaks.

Sources: FHIR R4 Consent (http://hl7.org/fhir/R4/consent.html), HL7 v3 ActCode,
ActReason, Confidentiality and ParticipationType code systems
(http://terminology.hl7.org), LOINC 59284-0 "Patient Consent".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

RECIPIENT_CATEGORY_SYSTEM = "urn:referral-gateway:recipient-category"
"""Identifier system naming a *kind* of recipient (``ehr``, ``crisis``, ``community``)."""
DESTINATION_SYSTEM = "urn:referral-gateway:destination"
"""Identifier system naming one configured destination by its name."""
CONSENT_TEXT_SYSTEM = "urn:referral-gateway:consent-text"
"""Identifier system of the consent text version the person accepted."""

RECIPIENT_CATEGORIES = ("ehr", "crisis", "community")

PROTECTED_LABELS = frozenset({"ETH", "42CFRPart2", "SUD"})
"""Substance-use labels: withheld unless a permit names them (42 CFR Part 2)."""

PURPOSE_WORDS = {
    "TREAT": "your care and treatment",
    "ETREAT": "emergency care",
    "HPAYMT": "paying for your care",
    "HOPERAT": "running the health service",
    "PUBHLTH": "public health",
    "HRESCH": "health research",
    "CAREMGT": "planning and arranging your care",
    "PATRQT": "your own request",
}

REDISCLOSURE_NOTICE = (
    "This information has been disclosed to you from records protected by federal "
    "confidentiality rules (42 CFR part 2). The federal rules prohibit you from making any "
    "further disclosure of information in this record that identifies a patient as having "
    "or having had a substance use disorder either directly, by reference to publicly "
    "available information, or through verification of such identification by another "
    "person unless further disclosure is expressly permitted by the written consent of the "
    "individual whose information is being disclosed or as otherwise permitted by 42 CFR "
    "part 2. A general authorization for the release of medical or other information is "
    "NOT sufficient for this purpose (see 42 CFR 2.31). The federal rules restrict any use "
    "of the information to investigate or prosecute with regard to a crime any patient "
    "with a substance use disorder, except as provided at 42 CFR 2.12(c)(5) and 2.65."
)
"""The redisclosure notice of 42 CFR 2.32(a)(1)."""


@dataclass(frozen=True)
class Label:
    """One security label coding (FHIR ``Coding``)."""

    system: str
    code: str
    display: str = ""

    def to_coding(self) -> dict[str, Any]:
        coding = {"system": self.system, "code": self.code}
        if self.display:
            coding["display"] = self.display
        return coding


RESTRICTED = Label(CONFIDENTIALITY, "R", "restricted")
PSYCHIATRY = Label(ACT_CODE, "PSY", "psychiatry disorder information sensitivity")
NO_REDISCLOSURE = Label(ACT_CODE, "NORDSCLCD", "no redisclosure without consent directive")


def destination_category(destination_type: str, configured_category: str | None = None) -> str:
    """The recipient category a destination type falls under.

    ``fhir`` and the built-in ``inbox`` are the person's care team (``ehr``) unless the
    destination config names another category; ``crisis`` and ``community`` are themselves.
    """
    if configured_category is not None:
        if configured_category not in RECIPIENT_CATEGORIES:
            raise ValueError(f"unknown recipient category {configured_category!r}")
        return configured_category
    mapping = {"fhir": "ehr", "inbox": "ehr", "crisis": "crisis", "community": "community"}
    try:
        return mapping[destination_type]
    except KeyError:
        raise ValueError(f"unknown destination type {destination_type!r}") from None

RECIPIENT_WORDS = {
    "ehr": "your care team's health record",
    "crisis": "a crisis service",
    "community": "a community service",
}
