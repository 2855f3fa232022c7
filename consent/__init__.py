"""Consent: the FHIR Consent model, the decision engine, minimisation and summaries.

Pure: data in, data out. The caller passes the time; nothing here touches a store,
the network or the web layer.
"""

from consent.engine import (
    Decision,
    DecisionRequest,
    Recipient,
    decide,
    decide_emergency,
    is_emergency,
    is_in_force,
)
from consent.fhir_consent import (
    ConsentRecord,
    Problem,
    consent_from_submission,
    parse_consent,
    submission_problems,
)
from consent.minimise import minimise
from consent.obligations import (
    AddLabels,
    AttachRedisclosureNotice,
    Obligation,
    RedactLabelled,
    WithholdResources,
)
from consent.readability import flesch_kincaid_grade
from consent.summary import Summary, summarize
from consent.vocab import destination_category

__all__ = [
    "AddLabels",
    "AttachRedisclosureNotice",
    "ConsentRecord",
    "Decision",
    "DecisionRequest",
    "Obligation",
    "Problem",
    "Recipient",
    "RedactLabelled",
    "Summary",
    "WithholdResources",
    "consent_from_submission",
    "decide",
    "decide_emergency",
    "destination_category",
    "flesch_kincaid_grade",
    "is_emergency",
    "is_in_force",
    "minimise",
    "parse_consent",
    "submission_problems",
    "summarize",
]
