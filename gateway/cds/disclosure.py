"""What the EHR's consent category may see of a referral: the delivery's own decision.

The CDS service asks the one disclosure decision point (``gateway.disclosure``) as
delivery does, for the ``ehr`` category under ``TREAT``, and shows its minimised view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent.engine import Decision
from gateway.disclosure import TREATMENT, ReferralFacts, decide_for_recipient

EHR_CATEGORY = "ehr"
__all__ = ["EHR_CATEGORY", "TREATMENT", "EhrView", "ehr_view"]


@dataclass(frozen=True)
class EhrView:
    decision: Decision
    bundle: dict[str, Any] | None
    """The referral's Bundle minimised for the EHR; ``None`` when consent denies it."""


def ehr_view(
    bundle: dict[str, Any],
    consent: dict[str, Any] | None,
    *,
    recipient: str,
    risk_level: str,
    now: datetime,
) -> EhrView:
    disclosure = decide_for_recipient(
        EHR_CATEGORY, recipient, consent, ReferralFacts.of(bundle, risk_level), now
    )
    if not disclosure.permit:
        return EhrView(disclosure.decision, None)
    return EhrView(disclosure.decision, disclosure.outbound(bundle))
