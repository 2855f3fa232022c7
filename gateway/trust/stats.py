"""The arithmetic of the transparency report, pure (CONTRACT.md v1.1, transparency report).

- PSI (population stability index): sum over the five risk levels of
  ``(o - e) * ln(o / e)``, ``o`` the observed share after adding 0.5 to every level's
  count, ``e`` the declared share with 0 taken as 0.001.
- Percentiles by linear interpolation between the closest ranks (the method of
  NumPy's default and of ``statistics.quantiles(method="inclusive")``).
- Public suppression: a count from 1 to 10 is shown as ``"<11"``; a rate, percentile
  or median over fewer than 11 values is null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from gateway.trust.config import RISK_LEVELS

SMOOTHING = 0.5
EMPTY_SHARE = 0.001
SMALL_CELL = 11
SUPPRESSED = "<11"


def psi(counts: Mapping[str, int], expected: Mapping[str, float]) -> float:
    """The PSI of observed ``counts`` per level against the ``expected`` shares."""
    smoothed = {level: counts.get(level, 0) + SMOOTHING for level in RISK_LEVELS}
    total = sum(smoothed.values())
    value = 0.0
    for level in RISK_LEVELS:
        observed = smoothed[level] / total
        declared = expected.get(level, 0.0) or EMPTY_SHARE
        value += (observed - declared) * math.log(observed / declared)
    return value


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` (0..1) percentile of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def public_count(count: int) -> int | str:
    """A count as the public may see it: 1 to 10 become ``"<11"``."""
    return SUPPRESSED if 1 <= count < SMALL_CELL else count


def public_value(value: float | None, over: int) -> float | None:
    """A rate, percentile or median as the public may see it: null over fewer than 11."""
    return value if over >= SMALL_CELL else None
