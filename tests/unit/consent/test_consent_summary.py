"""Plain-language summaries: layered, complete, and readable at grade 8 or below."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consent.fhir_consent import consent_from_submission, recipient_actor
from consent.readability import flesch_kincaid_grade, syllables
from consent.summary import EMERGENCY, WITHDRAW, summarize

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def make(share_with: list[str], purposes: list[str], expires: str | None) -> dict[str, Any]:
    inline: dict[str, Any] = {"share_with": share_with, "purposes": purposes,
                              "accepted_text_version": "consent-text-v3"}
    if expires:
        inline["expires"] = expires
    return consent_from_submission(
        inline, patient_ref="Patient/p1", patient_identifier={"system": "s", "value": "v"},
        recorded_at="2026-11-27T10:04:00Z", consent_uuid="c1", client_id="app")


ALL = make(["ehr", "crisis", "community"], ["TREAT"], "2027-11-27")
ONE = make(["community"], ["TREAT", "CAREMGT"], "2027-01-31")
OPEN_ENDED = make(["ehr"], ["TREAT"], None)
EMERGENCY_ONLY = make(["crisis"], ["ETREAT"], None)
NOTHING = {**make(["ehr"], ["TREAT"], None),
           "provision": {"type": "deny", "period": {"start": "2026-11-27T10:04:00Z"}}}
REVOKED = {**ALL, "status": "inactive"}
EXPIRED = make(["ehr"], ["TREAT"], "2026-11-27")

CONSENTS = {
    "all categories": ALL,
    "one category": ONE,
    "no expiry": OPEN_ENDED,
    "emergency only": EMERGENCY_ONLY,
    "shares nothing": NOTHING,
    "revoked": REVOKED,
    "expired": EXPIRED,
}


@pytest.mark.parametrize("name", list(CONSENTS))
def test_every_summary_reads_at_grade_8_or_below(name: str) -> None:
    summary = summarize(CONSENTS[name], now=NOW)
    for text in (summary.headline, *summary.details, summary.withdraw):
        if text:
            assert flesch_kincaid_grade(text) <= 8, text
    whole = " ".join([summary.headline, *summary.details, summary.withdraw])
    assert flesch_kincaid_grade(whole) <= 8


def test_all_categories_summary_names_who_what_why_until_and_how_to_stop() -> None:
    summary = summarize(ALL, now=NOW)
    assert summary.headline == (
        "You agreed to share your results with your care team, a crisis team "
        "and local support services."
    )
    assert summary.details[0].startswith("Your care team gets your answers")
    assert summary.details[1].startswith("A crisis team gets your name")
    assert summary.details[2].startswith("Local support services get your name")
    assert "They may use it only for your care." in summary.details
    assert "This lasts until 27 November 2027." in summary.details
    assert summary.details[-1] == EMERGENCY
    assert summary.withdraw == WITHDRAW
    assert "TREAT" not in " ".join(summary.details)


def test_one_category_with_two_purposes() -> None:
    summary = summarize(ONE, now=NOW)
    assert summary.headline == "You agreed to share your results with local support services."
    assert "They may use it only for your care and planning your care." in summary.details
    assert "This lasts until 31 January 2027." in summary.details


def test_no_expiry_lasts_until_stopped() -> None:
    assert "This lasts until you stop it." in summarize(OPEN_ENDED, now=NOW).details


def test_emergency_only_consent() -> None:
    summary = summarize(EMERGENCY_ONLY, now=NOW)
    assert summary.headline == "You agreed to share your results with a crisis team."
    assert "They may use it only for care in an emergency." in summary.details


def test_sharing_nothing_still_explains_the_emergency_rule() -> None:
    summary = summarize(NOTHING, now=NOW)
    assert summary.headline == "You chose not to share your results."
    assert summary.details == (EMERGENCY,)


def test_revoked_and_expired_say_nothing_more_is_sent() -> None:
    assert summarize(REVOKED, now=NOW).headline.startswith("You stopped this sharing")
    assert summarize(EXPIRED, now=NOW).headline.startswith("This sharing has ended")
    assert summarize(REVOKED, now=NOW).withdraw == ""


def test_a_datetime_end_is_shown_as_its_day() -> None:
    consent = {"resourceType": "Consent", "status": "active", "provision": {
        "type": "deny", "period": {"end": "2027-03-01T12:00:00+00:00"},
        "provision": [{"type": "permit", "actor": [recipient_actor("ehr")]}]}}
    assert "This lasts until 1 March 2027." in summarize(consent, now=NOW).details


def test_summary_serialises() -> None:
    as_dict = summarize(ONE, now=NOW).to_dict()
    assert set(as_dict) == {"headline", "details", "withdraw"}
    assert isinstance(as_dict["details"], list)


@pytest.mark.parametrize(
    ("word", "count"),
    [("cat", 1), ("share", 1), ("table", 2), ("people", 2), ("reading", 2),
     ("emergency", 4), ("2027", 1), ("you", 1), ("agreed", 2)],
)
def test_syllable_heuristic(word: str, count: int) -> None:
    assert syllables(word) == count


def test_flesch_kincaid_grade_matches_the_formula() -> None:
    # 2 sentences, 8 words, 9 syllables ("table" has two).
    grade = flesch_kincaid_grade("The cat sat. The dog ate the table.")
    assert grade == pytest.approx(0.39 * 8 / 2 + 11.8 * 9 / 8 - 15.59)
    assert flesch_kincaid_grade("") == 0.0
    hard = ("Notwithstanding the aforementioned considerations, the organisation's "
            "institutional authorisation necessitates comprehensive documentation.")
    assert flesch_kincaid_grade(hard) > 12
