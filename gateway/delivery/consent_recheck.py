"""Consent is decided again just before every delivery, so a revocation stops it.

The decision is the one disclosure decision point's (``gateway.disclosure``), made
for the same facts intake decided on (``tests/unit/gateway/test_disclosure.py``).
"""

from __future__ import annotations

from typing import Any

from gateway.config import AnyDestination
from gateway.context import Clock
from gateway.delivery.claim import Claim
from gateway.disclosure import Disclosure, ReferralFacts, decide_disclosure


def recheck_consent(
    claim: Claim, destination: AnyDestination, consent: dict[str, Any] | None, clock: Clock
) -> Disclosure:
    """The disclosure decision for ``claim`` under the consent on file now."""
    facts = ReferralFacts.of(claim.bundle, claim.risk_level)
    return decide_disclosure(destination, consent, facts, clock())
