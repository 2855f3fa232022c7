"""CDS Hooks feedback: what clinicians did with a card (CDS Hooks 2.0 §"Feedback").

Each item names a ``card`` (a ``card.uuid`` the gateway issued to this EHR; any other:
400 and nothing stored), an ``outcome`` (``accepted`` | ``overridden``), an
``outcomeTimestamp`` and, when overridden, an ``overrideReason``. Stored in
``cds_feedback`` with the referral and the model version the card showed;
``load_cds_feedback`` is what the transparency report counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from gateway.cds.hook_request import FeedbackRequest
from gateway.cds.records import issued_cards, store_feedback
from gateway.cds.trust import CdsCaller
from gateway.context import Clock
from gateway.errors import Issue, MalformedRequest
from gateway.logging import get_logger
from gateway.store.tables_cds import cds_feedback

log = get_logger("gateway.cds")


@dataclass
class FeedbackService:
    engine: AsyncEngine
    clock: Clock

    async def record(self, request: FeedbackRequest, caller: CdsCaller) -> int:
        """Store every item, or none when one names a card never issued to this EHR."""
        now = self.clock()
        async with self.engine.begin() as conn:
            issued = await issued_cards(conn, caller.iss, [item.card for item in request.feedback])
            unknown = [i for i, item in enumerate(request.feedback) if item.card not in issued]
            if unknown:
                raise MalformedRequest(
                    "Feedback names a card this service never issued to this CDS client.",
                    issues=[
                        Issue("unknown card uuid", expression=f"feedback[{i}].card")
                        for i in unknown
                    ],
                )
            rows = []
            for item in request.feedback:
                card = issued[item.card]
                rows.append(
                    {
                        "referral_id": card.referral_id,
                        "card_uuid": card.card_uuid,
                        "iss": caller.iss,
                        "outcome": item.outcome,
                        "override_reason": item.reason_text()
                        if item.outcome == "overridden"
                        else None,
                        "model_name": card.model_name,
                        "model_version": card.model_version,
                        "outcome_at": item.outcomeTimestamp or now,
                        "recorded_at": now,
                    }
                )
            await store_feedback(conn, rows)
        log.info("cds.feedback_recorded", client_id=caller.iss, count=len(rows))
        return len(rows)


async def load_cds_feedback(
    session: AsyncConnection | AsyncSession, referral_ids: list[str]
) -> list[tuple[str, str]]:
    """``(referral_id, outcome)`` of the latest feedback on each card of these referrals.

    For the transparency report, which counts them per model version (CONTRACT.md v1.1,
    ``cds_feedback``). Latest: by ``outcomeTimestamp``, then by arrival.
    """
    if not referral_ids:
        return []
    rows = await session.execute(
        select(cds_feedback.c.referral_id, cds_feedback.c.card_uuid, cds_feedback.c.outcome)
        .where(cds_feedback.c.referral_id.in_(list(referral_ids)))
        .order_by(cds_feedback.c.outcome_at, cds_feedback.c.id)
    )
    latest: dict[str, tuple[str, str]] = {}
    for referral_id, card, outcome in rows:
        latest[card] = (referral_id, outcome)
    return list(latest.values())
