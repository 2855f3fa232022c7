"""The transparency report's figures, pure: facts in, figures out (CONTRACT.md v1.1).

``transparency_report(facts, period, ...)`` answers the JSON the contract shows. A
referral belongs to the UTC day the gateway received it; its reviews, CDS feedback,
acknowledgements and Tasks are counted with it. Rates count the latest review of each
reviewer. docs/monitoring.md says how each figure is computed and what it cannot say.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from gateway.trust import stats
from gateway.trust.config import RISK_LEVELS, DriftConfig, ModelCard, declared_versions, find_card

Audience = Literal["internal", "public"]
FINAL_TASK_STATES = frozenset({"completed", "rejected", "cancelled", "failed", "entered-in-error"})
_RANK = {level: index for index, level in enumerate(RISK_LEVELS)}


@dataclass(frozen=True)
class CrisisFact:
    """One crisis delivery: when it reached the desk, its SLA, when a person acknowledged."""

    since: datetime
    sla_seconds: float
    acknowledged_at: datetime | None = None


@dataclass(frozen=True)
class TaskFact:
    status: str
    accepted_at: datetime | None = None


@dataclass(frozen=True)
class ReferralFact:
    referral_id: str
    received_at: datetime
    model_name: str
    model_version: str
    risk_level: str
    emergency: bool = False
    delivered: bool = False
    crisis: tuple[CrisisFact, ...] = ()
    tasks: tuple[TaskFact, ...] = ()


@dataclass(frozen=True)
class ReviewFact:
    referral_id: str
    reviewer: str
    risk_level: str
    reviewed_at: datetime


@dataclass(frozen=True)
class Facts:
    referrals: list[ReferralFact]
    reviews: list[ReviewFact] = field(default_factory=list)
    cds_feedback: list[tuple[str, str]] = field(default_factory=list)
    """(referral id, ``accepted`` | ``overridden``)."""
    consent_withdrawals: int = 0


@dataclass(frozen=True)
class Period:
    """Days in UTC, both inclusive."""

    start: date
    end: date

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment.astimezone(UTC).date() <= self.end

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def triage_direction(ai_level: str, clinician_level: str) -> str:
    """``agree``; ``under`` when the clinician's level is higher (the AI under-triaged)."""
    ai, human = _RANK[ai_level], _RANK[clinician_level]
    return "agree" if ai == human else ("under" if human > ai else "over")


def latest_reviews(reviews: Iterable[ReviewFact]) -> list[ReviewFact]:
    """The latest review of each reviewer of each referral."""
    latest: dict[tuple[str, str], ReviewFact] = {}
    for review in reviews:
        key = (review.referral_id, review.reviewer)
        if key not in latest or review.reviewed_at >= latest[key].reviewed_at:
            latest[key] = review
    return list(latest.values())


@dataclass
class _ModelTally:
    name: str
    version: str
    declared: bool
    card: ModelCard | None
    levels: Counter[str] = field(default_factory=Counter)
    directions: Counter[str] = field(default_factory=Counter)
    cds: Counter[str] = field(default_factory=Counter)

    @property
    def referrals(self) -> int:
        return sum(self.levels.values())

    @property
    def reviews(self) -> int:
        return sum(self.directions.values())


def model_figures(tally: _ModelTally, drift: DriftConfig, audience: Audience) -> dict[str, Any]:
    referrals, reviews = tally.referrals, tally.reviews
    rates = {
        f"{key}_rate": stats.rate(tally.directions[direction], reviews)
        for key, direction in (
            ("agreement", "agree"),
            ("under_triage", "under"),
            ("over_triage", "over"),
        )
    }
    psi: float | None = None
    alert: bool | None = None
    expected = tally.card.expected_risk_levels if tally.card else None
    if expected is not None and referrals >= drift.min_referrals:
        psi = stats.psi(tally.levels, expected)
        under = rates["under_triage_rate"]
        alert = psi > drift.psi_alert or (
            reviews >= drift.min_reviews and under is not None and under > drift.under_triage_alert
        )
    if audience == "public":
        rates = {key: stats.public_value(value, reviews) for key, value in rates.items()}
        if referrals < stats.SMALL_CELL:
            psi = alert = None
    count = _counter(audience)
    figures: dict[str, Any] = {
        "name": tally.name,
        "version": tally.version,
        "declared": tally.declared,
        "referrals": count(referrals),
        "risk_levels": {level: count(tally.levels[level]) for level in RISK_LEVELS},
        "reviews": count(reviews),
        **{key: _round(value, 4) for key, value in rates.items()},
        "cds_feedback": {k: count(tally.cds[k]) for k in ("accepted", "overridden")},
        "drift": {"risk_level_psi": _round(psi, 4), "alert": alert},
    }
    if tally.card is not None:
        figures["card"] = f"/models/{tally.name}/{tally.version}"
        figures["expected_risk_levels"] = expected
    return figures


def transparency_report(
    facts: Facts,
    period: Period,
    *,
    cards: list[ModelCard],
    drift: DriftConfig,
    audience: Audience,
    now: datetime,
) -> dict[str, Any]:
    """The report for ``period``; ``now`` decides whether an open crisis clock has run out."""
    referrals = [r for r in facts.referrals if period.holds(r.received_at)]
    by_id = {r.referral_id: r for r in referrals}
    tallies: dict[tuple[str, str], _ModelTally] = {
        (name, version): _ModelTally(name, version, True, find_card(cards, name, version))
        for name, version in declared_versions(cards)
    }
    for referral in referrals:
        key = (referral.model_name, referral.model_version)
        if key not in tallies:
            card = find_card(cards, *key)
            tallies[key] = _ModelTally(*key, declared=card is not None, card=card)
        tallies[key].levels[referral.risk_level] += 1
    for review in latest_reviews(r for r in facts.reviews if r.referral_id in by_id):
        referral = by_id[review.referral_id]
        tally = tallies[(referral.model_name, referral.model_version)]
        tally.directions[triage_direction(referral.risk_level, review.risk_level)] += 1
    for referral_id, outcome in facts.cds_feedback:
        if referral_id in by_id and outcome in ("accepted", "overridden"):
            referral = by_id[referral_id]
            tallies[(referral.model_name, referral.model_version)].cds[outcome] += 1
    count = _counter(audience)
    ordered = sorted(tallies.values(), key=lambda t: (not t.declared, t.name, t.version))
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "audience": audience,
        "totals": {
            "referrals": count(len(referrals)),
            "emergency_disclosures": count(sum(1 for r in referrals if r.emergency)),
            "consent_withdrawals": count(facts.consent_withdrawals),
        },
        "models": [model_figures(t, drift, audience) for t in ordered],
        "crisis": crisis_figures(referrals, audience, now),
        "loop": loop_figures(referrals, audience),
        "volume_by_day": [
            {"date": day.isoformat(), "referrals": count(n)}
            for day, n in _daily(referrals, period).items()
        ],
    }


def crisis_figures(
    referrals: list[ReferralFact], audience: Audience, now: datetime
) -> dict[str, Any]:
    """Per referral with a crisis delivery: its clock starts when the first reached the desk,
    runs to the first acknowledgement; a breach is a clock past the shortest SLA."""
    crisis = [r for r in referrals if r.crisis]
    waits: list[float] = []
    breaches = 0
    for referral in crisis:
        start = min(c.since for c in referral.crisis)
        sla = min(c.sla_seconds for c in referral.crisis)
        acks = [c.acknowledged_at for c in referral.crisis if c.acknowledged_at is not None]
        end = min(acks) if acks else now
        if acks:
            waits.append(max((end - start).total_seconds(), 0.0))
        breaches += (end - start).total_seconds() > sla
    p50, p90 = stats.percentile(waits, 0.5), stats.percentile(waits, 0.9)
    if audience == "public":
        p50, p90 = stats.public_value(p50, len(waits)), stats.public_value(p90, len(waits))
    count = _counter(audience)
    return {
        "referrals": count(len(crisis)),
        "acknowledged": count(len(waits)),
        "sla_breaches": count(breaches),
        "time_to_ack_seconds": {"p50": _round(p50, 1), "p90": _round(p90, 1)},
    }


def loop_figures(referrals: list[ReferralFact], audience: Audience) -> dict[str, Any]:
    """Closed: a Task reached a final state; completed: a Task completed; hours to accept:
    from receipt to the first Task accepted."""
    hours = [
        (min(accepted) - r.received_at).total_seconds() / 3600
        for r in referrals
        if (accepted := [t.accepted_at for t in r.tasks if t.accepted_at is not None])
    ]
    median = stats.percentile(hours, 0.5)
    if audience == "public":
        median = stats.public_value(median, len(hours))
    count = _counter(audience)
    return {
        "delivered": count(sum(1 for r in referrals if r.delivered)),
        "accepted": count(len(hours)),
        "closed": count(
            sum(1 for r in referrals if any(t.status in FINAL_TASK_STATES for t in r.tasks))
        ),
        "completed": count(
            sum(1 for r in referrals if any(t.status == "completed" for t in r.tasks))
        ),
        "median_hours_to_accept": _round(median, 2),
    }


def _daily(referrals: list[ReferralFact], period: Period) -> dict[date, int]:
    days = dict.fromkeys(period.days(), 0)
    for referral in referrals:
        days[referral.received_at.astimezone(UTC).date()] += 1
    return days


def _counter(audience: Audience) -> Any:
    return stats.public_count if audience == "public" else (lambda n: n)


def _round(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)
