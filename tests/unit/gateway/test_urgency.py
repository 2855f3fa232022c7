"""Which submissions may take the crisis reserve: every doubt resolves to urgent."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.intake.urgency import is_urgent

QUIET = [1, 1, 1, 1, 1, 1, 1, 1, 0]


@pytest.mark.parametrize(
    ("document", "urgent"),
    [
        ({"risk": {"level": "imminent"}}, True),
        ({"risk": {"level": "high"}}, True),
        ({"risk": {"level": "moderate"}}, False),
        ({"risk": {"level": "low", "signals": ["self-harm-language"]}}, True),
        ({"risk": {"level": "low", "signals": []}}, False),
        ({"risk": {"level": "low"}, "request": {"pathway": "crisis"}}, True),
        ({"risk": {"level": "low"}, "request": {"pathway": "clinical"}}, False),
        ({"assessments": [{"instrument": "phq-9", "answers": QUIET}]}, False),
        ({"assessments": [{"instrument": "phq-9", "answers": [*QUIET[:8], 1]}]}, True),
        ({"assessments": [{"instrument": "phq-9", "answers": QUIET[:8]}]}, True),
        ({"assessments": [{"instrument": "phq-9", "answers": [*QUIET[:8], "0"]}]}, True),
        # a boolean is not a PHQ-9 score, even False (which Python counts as 0)
        ({"assessments": [{"instrument": "phq-9", "answers": [*QUIET[:8], False]}]}, True),
        ({"assessments": [{"instrument": "gad-7", "answers": [3] * 7}]}, False),
        ({"assessments": [{"instrument": "c-ssrs-screener",
                           "answers": [False, True, None, None, None, None]}]}, True),
        ({"assessments": [{"instrument": "c-ssrs-screener", "answers": [False] * 6}]}, False),
        # an assessment that is not an object, or has no list of answers, is as unreadable
        # as a body that is not JSON: routine traffic; the rest of the body still counts
        ({"assessments": ["phq-9"]}, False),
        ({"assessments": [{"instrument": "phq-9", "answers": "0"}]}, False),
        ({"assessments": ["phq-9", {"instrument": "phq-9", "answers": [*QUIET[:8], 2]}]}, True),
        ({"assessments": [{"instrument": "phq-9"}], "risk": {"level": "high"}}, True),
        (None, False),
        ([], False),
        ({"risk": "imminent"}, False),
    ],
)
def test_is_urgent(document: Any, urgent: bool) -> None:
    assert is_urgent(document) is urgent
