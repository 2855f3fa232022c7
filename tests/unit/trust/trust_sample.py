"""A fortnight of synthetic facts: two declared versions (one drifting) and an undeclared one."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from trust_rig import CARD

from gateway.config import parse_config
from gateway.trust.figures import CrisisFact, Facts, Period, ReferralFact, ReviewFact, TaskFact

START = date(2026, 11, 16)
PERIOD = Period(START, START + timedelta(days=13))
LEVELS = ["none", "low", "moderate", "high", "imminent"]


def sample_facts(seed: int = 7) -> Facts:
    rng = random.Random(seed)
    referrals: list[ReferralFact] = []
    reviews: list[ReviewFact] = []
    mixes = {
        "2.3.1": [0.25, 0.5, 0.2, 0.04, 0.01],
        "2.4.0": [0.1, 0.25, 0.3, 0.2, 0.15],  # drifts toward high risk
        "0.9-beta": [0.2, 0.4, 0.3, 0.08, 0.02],
    }
    n = 0
    for day in PERIOD.days():
        for version, weights in mixes.items():
            for _ in range(rng.randint(2, 9)):
                n += 1
                at = datetime(day.year, day.month, day.day, rng.randint(0, 23), tzinfo=UTC)
                level = rng.choices(LEVELS, weights)[0]
                crisis = ()
                if level == "imminent" or rng.random() < 0.05:
                    acked = at + timedelta(seconds=rng.randint(40, 500))
                    crisis = (CrisisFact(at, 300, acked if rng.random() < 0.92 else None),)
                tasks = ()
                if rng.random() < 0.85:
                    accepted = at + timedelta(hours=rng.uniform(0.5, 30))
                    status = rng.choice(["accepted", "in-progress", "completed", "completed"])
                    tasks = (
                        (TaskFact(status, accepted),)
                        if rng.random() < 0.8
                        else (TaskFact("rejected"),)
                    )
                name = "example-triage" if version != "0.9-beta" else "night-shift-llm"
                referrals.append(
                    ReferralFact(
                        f"r{n}",
                        at,
                        name,
                        version,
                        level,
                        emergency=level == "imminent",
                        delivered=True,
                        crisis=crisis,
                        tasks=tasks,
                    )
                )
                if rng.random() < 0.5:
                    shift = rng.choices([-1, 0, 1], [0.08, 0.8, 0.12])[0]
                    human = LEVELS[min(max(LEVELS.index(level) + shift, 0), 4)]
                    reviews.append(ReviewFact(f"r{n}", "client:clinic-ehr", human, at))
    return Facts(referrals, reviews, consent_withdrawals=3)


def sample_config():  # type: ignore[no-untyped-def]
    return parse_config(
        {
            "destinations": [
                {"name": "inbox", "type": "inbox"},
                {"name": "crisis-desk", "type": "crisis", "ack_sla_seconds": 300},
            ],
            "routing": [{"name": "fallback", "send_to": ["inbox"]}],
            "models": [CARD],
            "drift": {"min_referrals": 30},
        }
    )
