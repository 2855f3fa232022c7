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
        ({"assessments": [{"instrument": "gad-7", "answers": [3] * 7}]}, False),
        ({"assessments": [{"instrument": "c-ssrs-screener",
                           "answers": [False, True, None, None, None, None]}]}, True),
        ({"assessments": [{"instrument": "c-ssrs-screener", "answers": [False] * 6}]}, False),
        (None, False),
        ([], False),
        ({"risk": "imminent"}, False),
    ],
)
def test_is_urgent(document: Any, urgent: bool) -> None:
    assert is_urgent(document) is urgent
