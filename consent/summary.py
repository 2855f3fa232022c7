"""Plain-language consent summary, layered: one sentence, then the details.

Layered notices follow the Article 29 Working Party's guidelines on transparency
(WP260 rev.01, "layered privacy statements"): the headline says the essential, the details say
who receives what, for what, until when, and how to withdraw. Summaries are written
for a reading level of grade 8 or below (``consent.readability``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from consent.engine import is_in_force
from consent.fhir_consent import permitted_categories, permitted_purposes
from consent.periods import as_aware

WHO = {
    "ehr": "your care team",
    "crisis": "a crisis team",
    "community": "local support services",
}
WHAT = {
    "ehr": "Your care team gets your answers, your scores and why you got your result.",
    "crisis": (
        "A crisis team gets your name, how to reach you, your language and how much risk "
        "you may be in. They do not get all your answers."
    ),
    "community": (
        "Local support services get your name, how to reach you, your language, your "
        "postcode and the help you need. They do not get your answers, scores or notes."
    ),
}
WHY = {
    "TREAT": "your care",
    "CAREMGT": "planning your care",
    "ETREAT": "care in an emergency",
    "HPAYMT": "paying for your care",
    "HOPERAT": "running the service",
    "PUBHLTH": "public health",
    "HRESCH": "research",
}
EMERGENCY = (
    "If you may be in danger right now, a crisis team will get what they need to keep you "
    "safe, even if you did not agree."
)
WITHDRAW = (
    "You can stop this at any time in the app. Things sent before you stop stay with the "
    "people who got them."
)


@dataclass(frozen=True)
class Summary:
    headline: str
    details: tuple[str, ...]
    withdraw: str

    def to_dict(self) -> dict[str, Any]:
        return {"headline": self.headline, "details": list(self.details), "withdraw": self.withdraw}


def summarize(consent: dict[str, Any], *, now: datetime) -> Summary:
    """The summary of ``consent`` as it stands at ``now``."""
    provision = consent.get("provision") or {}
    categories = permitted_categories(provision)
    if consent.get("status") != "active":
        return Summary("You stopped this sharing, so nothing more is sent.", (EMERGENCY,), "")
    if not is_in_force(consent, now):
        return Summary("This sharing has ended, so nothing more is sent.", (EMERGENCY,), "")
    if not categories:
        return Summary("You chose not to share your results.", (EMERGENCY,), WITHDRAW)
    who = _join([WHO[category] for category in categories])
    purposes = dict.fromkeys(permitted_purposes(provision))
    why = _join([WHY.get(code, "your care") for code in purposes]) or "your care"
    details = [WHAT[category] for category in categories]
    details.append(f"They may use it only for {why}.")
    details.append(_until(provision.get("period") or {}))
    details.append(EMERGENCY)
    return Summary(f"You agreed to share your results with {who}.", tuple(details), WITHDRAW)


def _until(period: dict[str, Any]) -> str:
    end = period.get("end")
    if not end:
        return "This lasts until you stop it."
    day = date.fromisoformat(end) if len(end) == 10 else as_aware(datetime.fromisoformat(end))
    return f"This lasts until {day.day} {day:%B} {day.year}."


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"
