"""The transparency report's arithmetic, with expectations computed by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.trust import stats
from gateway.trust.config import DriftConfig, ModelCard
from gateway.trust.figures import (
    CrisisFact,
    Facts,
    Period,
    ReferralFact,
    ReviewFact,
    TaskFact,
    latest_reviews,
    transparency_report,
    triage_direction,
)

MIX = {"none": 0.25, "low": 0.5, "moderate": 0.2, "high": 0.04, "imminent": 0.01}
DAY = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PERIOD = Period(date(2026, 11, 27), date(2026, 11, 28))


def card(name: str = "triage", versions: tuple[str, ...] = ("1.0",), mix: dict | None = MIX):  # type: ignore[no-untyped-def,type-arg]
    text = "x"
    return ModelCard(
        name=name,
        versions=list(versions),
        developer=text,
        intended_use=text,
        intended_population=text,
        out_of_scope=text,
        limitations=text,
        validation=text,
        fairness=text,
        maintenance=text,
        expected_risk_levels=mix,
    )


def referral(n: int, level: str = "low", version: str = "1.0", **extra) -> ReferralFact:  # type: ignore[no-untyped-def]
    return ReferralFact(f"r{n}", extra.pop("at", DAY), "triage", version, level, **extra)


def report(facts: Facts, *, audience="internal", drift=DriftConfig(), cards=None, now=DAY):  # type: ignore[no-untyped-def]
    return transparency_report(
        facts,
        PERIOD,
        cards=[card()] if cards is None else cards,
        drift=drift,
        audience=audience,
        now=now,
    )


# PSI ------------------------------------------------------------------------------------


def test_psi_of_the_declared_mix_itself_is_small_but_not_zero_because_of_smoothing() -> None:
    # 25/50/20/4/1 + 0.5 each = 25.5/50.5/20.5/4.5/1.5 over 102.5
    counts = {"none": 25, "low": 50, "moderate": 20, "high": 4, "imminent": 1}
    o = [25.5 / 102.5, 50.5 / 102.5, 20.5 / 102.5, 4.5 / 102.5, 1.5 / 102.5]
    e = [0.25, 0.5, 0.2, 0.04, 0.01]
    by_hand = sum((oi - ei) * math.log(oi / ei) for oi, ei in zip(o, e, strict=True))
    assert stats.psi(counts, MIX) == pytest.approx(by_hand)
    assert stats.psi(counts, MIX) == pytest.approx(0.0022417, abs=1e-6)


def test_psi_of_a_version_that_sends_only_low_and_none() -> None:
    counts = {"none": 10, "low": 20}
    assert stats.psi(counts, MIX) == pytest.approx(0.5484899, abs=1e-6)


def test_psi_takes_a_declared_zero_share_as_0_001() -> None:
    # 5 of each level + 0.5 = 5.5 each over 27.5 = 0.2 each
    declared = {"none": 0.5, "low": 0.5, "moderate": 0.0, "high": 0.0, "imminent": 0.0}
    by_hand = 2 * (0.2 - 0.5) * math.log(0.2 / 0.5) + 3 * (0.2 - 0.001) * math.log(0.2 / 0.001)
    assert stats.psi(dict.fromkeys(MIX, 5), declared) == pytest.approx(by_hand)
    assert by_hand == pytest.approx(3.7128699, abs=1e-6)


# percentiles and suppression --------------------------------------------------------------


def test_percentiles_interpolate_between_ranks() -> None:
    assert stats.percentile([], 0.5) is None
    assert stats.percentile([7.0], 0.9) == 7.0
    assert stats.percentile([10.0, 20.0, 30.0, 40.0], 0.5) == 25.0
    # (5 - 1) * 0.9 = 3.6: 40 + 0.6 * (50 - 40)
    assert stats.percentile([50.0, 10.0, 30.0, 20.0, 40.0], 0.9) == pytest.approx(46.0)


@pytest.mark.parametrize(
    ("count", "shown"), [(0, 0), (1, "<11"), (10, "<11"), (11, 11), (250, 250)]
)
def test_public_counts_from_1_to_10_are_suppressed(count: int, shown: object) -> None:
    assert stats.public_count(count) == shown


@pytest.mark.parametrize(("over", "shown"), [(0, None), (1, None), (10, None), (11, 0.5)])
def test_public_rates_over_fewer_than_11_values_are_null(over: int, shown: object) -> None:
    assert stats.public_value(0.5, over) == shown


# reviews ----------------------------------------------------------------------------------


def test_direction_of_a_review() -> None:
    assert triage_direction("moderate", "moderate") == "agree"
    assert triage_direction("low", "high") == "under"
    assert triage_direction("imminent", "none") == "over"


def test_a_reviewers_later_review_replaces_the_earlier_one() -> None:
    first = ReviewFact("r1", "client:ehr", "low", DAY)
    later = ReviewFact("r1", "client:ehr", "high", DAY + timedelta(hours=1))
    other = ReviewFact("r1", "user:sam", "low", DAY)
    assert sorted(latest_reviews([later, first, other]), key=lambda r: r.reviewer) == [later, other]


def test_rates_count_the_latest_review_of_each_reviewer() -> None:
    referrals = [referral(n, "moderate") for n in range(5)]
    reviews = [
        ReviewFact("r0", "a", "moderate", DAY),
        ReviewFact("r1", "a", "moderate", DAY),
        ReviewFact("r2", "a", "moderate", DAY),
        ReviewFact("r3", "a", "low", DAY),  # over-triaged by the AI
        ReviewFact("r4", "a", "moderate", DAY),  # replaced below
        ReviewFact("r4", "a", "high", DAY + timedelta(minutes=5)),  # under-triaged
    ]
    [model] = report(Facts(referrals, reviews))["models"]
    assert model["reviews"] == 5
    assert model["agreement_rate"] == 0.6
    assert model["under_triage_rate"] == 0.2
    assert model["over_triage_rate"] == 0.2


def test_no_reviews_no_rates() -> None:
    [model] = report(Facts([referral(1)]))["models"]
    assert model["reviews"] == 0
    assert model["agreement_rate"] is None and model["under_triage_rate"] is None


# models, drift ----------------------------------------------------------------------------


def test_declared_versions_without_referrals_are_listed_with_zeros() -> None:
    result = report(Facts([]), cards=[card(versions=("1.0", "2.0"))])
    assert [(m["version"], m["declared"], m["referrals"]) for m in result["models"]] == [
        ("1.0", True, 0),
        ("2.0", True, 0),
    ]
    assert result["models"][0]["risk_levels"] == dict.fromkeys(MIX, 0)
    assert result["models"][0]["drift"] == {"risk_level_psi": None, "alert": None}


def test_an_undeclared_version_is_counted_as_undeclared_without_a_drift_verdict() -> None:
    facts = Facts([referral(n, "high", version="9.9") for n in range(40)])
    undeclared = next(m for m in report(facts)["models"] if m["version"] == "9.9")
    assert undeclared["declared"] is False
    assert undeclared["referrals"] == 40 and undeclared["risk_levels"]["high"] == 40
    assert undeclared["drift"] == {"risk_level_psi": None, "alert": None}


def test_drift_waits_for_min_referrals() -> None:
    drift = DriftConfig(min_referrals=30)
    few = report(Facts([referral(n, "imminent") for n in range(29)]), drift=drift)
    assert few["models"][0]["drift"] == {"risk_level_psi": None, "alert": None}
    enough = report(Facts([referral(n, "imminent") for n in range(30)]), drift=drift)
    # 30 imminent: 0.5/32.5 for four levels, 30.5/32.5 imminent, against MIX
    o = {level: 0.5 / 32.5 for level in MIX} | {"imminent": 30.5 / 32.5}
    by_hand = sum((o[k] - MIX[k]) * math.log(o[k] / MIX[k]) for k in MIX)
    assert enough["models"][0]["drift"]["risk_level_psi"] == pytest.approx(by_hand, abs=1e-4)
    assert enough["models"][0]["drift"]["alert"] is True


def test_a_card_without_a_declared_mix_has_no_drift_verdict() -> None:
    facts = Facts([referral(n) for n in range(40)])
    [model] = report(facts, cards=[card(mix=None)])["models"]
    assert model["drift"] == {"risk_level_psi": None, "alert": None}


def _matching_mix(n: int = 100) -> list[ReferralFact]:
    levels = ["none"] * 25 + ["low"] * 50 + ["moderate"] * 20 + ["high"] * 4 + ["imminent"]
    return [referral(i, level) for i, level in enumerate(levels[:n])]


def test_under_triage_alerts_only_over_at_least_11_reviews() -> None:
    referrals = _matching_mix()
    ten = [ReviewFact(f"r{i}", "a", "imminent", DAY) for i in range(10)]  # all under-triaged
    [model] = report(Facts(referrals, ten))["models"]
    assert model["drift"]["risk_level_psi"] < 0.25
    assert model["drift"]["alert"] is False
    eleven = [*ten, ReviewFact("r10", "a", "imminent", DAY)]
    [model] = report(Facts(referrals, eleven))["models"]
    assert model["under_triage_rate"] == 1.0
    assert model["drift"]["alert"] is True


def test_cds_feedback_is_counted_per_model_version() -> None:
    facts = Facts(
        [referral(1), referral(2, version="9.9")],
        cds_feedback=[
            ("r1", "accepted"),
            ("r1", "overridden"),
            ("r2", "accepted"),
            ("x", "accepted"),
        ],
    )
    models = {m["version"]: m for m in report(facts)["models"]}
    assert models["1.0"]["cds_feedback"] == {"accepted": 1, "overridden": 1}
    assert models["9.9"]["cds_feedback"] == {"accepted": 1, "overridden": 0}


# period -----------------------------------------------------------------------------------


def test_days_are_utc_and_inclusive() -> None:
    inside = [
        referral(1, at=datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),
        referral(2, at=datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)),
    ]
    outside = [
        referral(3, at=datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)),
        referral(4, at=datetime(2026, 11, 29, 0, 0, tzinfo=UTC)),
    ]
    result = report(Facts([*inside, *outside]))
    assert result["totals"]["referrals"] == 2
    assert result["period"] == {"from": "2026-11-27", "to": "2026-11-28"}
    assert result["volume_by_day"] == [
        {"date": "2026-11-27", "referrals": 1},
        {"date": "2026-11-28", "referrals": 1},
    ]


def test_reviews_of_referrals_outside_the_period_are_not_counted() -> None:
    early = referral(1, at=datetime(2026, 11, 1, tzinfo=UTC))
    result = report(Facts([early, referral(2)], [ReviewFact("r1", "a", "high", DAY)]))
    assert result["models"][0]["reviews"] == 0


# crisis and loop --------------------------------------------------------------------------


def _crisis(n: int, ack_after: float | None, sla: float = 300) -> ReferralFact:
    acked = DAY + timedelta(seconds=ack_after) if ack_after is not None else None
    return referral(n, "imminent", crisis=(CrisisFact(DAY, sla, acked),))


def test_crisis_times_to_acknowledge_and_breaches() -> None:
    referrals = [_crisis(1, 60), _crisis(2, 120), _crisis(3, 600), _crisis(4, None), referral(5)]
    crisis = report(Facts(referrals), now=DAY + timedelta(seconds=1000))["crisis"]
    assert crisis["referrals"] == 4
    assert crisis["acknowledged"] == 3
    assert crisis["sla_breaches"] == 2  # acknowledged after 600 s; never acknowledged by now
    assert crisis["time_to_ack_seconds"] == {"p50": 120.0, "p90": 504.0}  # 120 + 0.8 * 480


def test_an_open_crisis_clock_within_its_sla_is_no_breach_yet() -> None:
    crisis = report(Facts([_crisis(1, None)]), now=DAY + timedelta(seconds=299))["crisis"]
    assert crisis["sla_breaches"] == 0
    assert crisis["time_to_ack_seconds"] == {"p50": None, "p90": None}


def test_loop_closed_completed_and_hours_to_accept() -> None:
    def accepted(hours: float, status: str = "accepted") -> TaskFact:
        return TaskFact(status, DAY + timedelta(hours=hours))

    referrals = [
        referral(1, delivered=True, tasks=(accepted(2, "completed"),)),
        referral(2, delivered=True, tasks=(accepted(4),)),
        referral(3, delivered=True, tasks=(TaskFact("rejected"),)),
        referral(4, delivered=True, tasks=(accepted(10), accepted(1, "in-progress"))),
        referral(5),
    ]
    loop = report(Facts(referrals))["loop"]
    assert loop == {
        "delivered": 4,
        "accepted": 3,
        "closed": 2,
        "completed": 1,
        "median_hours_to_accept": 2.0,  # of 2, 4 and 1 (the first acceptance of r4)
    }


def test_totals_emergency_disclosures_and_consent_withdrawals() -> None:
    facts = Facts([referral(1, emergency=True), referral(2)], consent_withdrawals=3)
    assert report(facts)["totals"] == {
        "referrals": 2,
        "emergency_disclosures": 1,
        "consent_withdrawals": 3,
    }


# the public audience ----------------------------------------------------------------------


def test_public_report_suppresses_small_cells_and_thin_rates() -> None:
    referrals = [referral(n, "moderate") for n in range(10)] + [_crisis(10, 30)]
    reviews = [ReviewFact(f"r{n}", "a", "moderate", DAY) for n in range(10)]
    result = report(Facts(referrals, reviews, consent_withdrawals=0), audience="public")
    assert result["audience"] == "public"
    assert result["totals"] == {
        "referrals": 11,
        "emergency_disclosures": 0,
        "consent_withdrawals": 0,
    }
    [model] = result["models"]
    assert model["referrals"] == 11
    assert model["risk_levels"] == {
        "none": 0,
        "low": 0,
        "moderate": "<11",
        "high": 0,
        "imminent": "<11",
    }
    assert model["reviews"] == "<11"
    assert model["agreement_rate"] is None
    assert result["crisis"]["referrals"] == "<11"
    assert result["crisis"]["time_to_ack_seconds"] == {"p50": None, "p90": None}
    assert result["volume_by_day"][0]["referrals"] == 11
    internal = report(Facts(referrals, reviews))
    assert internal["models"][0]["agreement_rate"] == 1.0
    assert internal["crisis"]["time_to_ack_seconds"]["p50"] == 30.0


def test_public_rates_over_11_reviews_are_shown() -> None:
    referrals = [referral(n, "moderate") for n in range(11)]
    reviews = [ReviewFact(f"r{n}", "a", "moderate", DAY) for n in range(11)]
    [model] = report(Facts(referrals, reviews), audience="public")["models"]
    assert model["reviews"] == 11
    assert model["agreement_rate"] == 1.0
