"""What ``GET /referrals/{id}`` adds: the model card beside the AI's output, and reviews."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.trust.cards import card_view, referral_model
from gateway.trust.config import ModelCard
from gateway.trust.reviews import referral_reviews


async def trust_sections(
    conn: AsyncConnection, cards: list[ModelCard], referral_id: str, view: dict[str, Any]
) -> dict[str, Any]:
    """``model_card`` (or ``declared: false``) and ``reviews``, for a referral's view."""
    name, version = referral_model(view.get("explanation") or {})
    return {
        "model_card": card_view(cards, name, version),
        "reviews": await referral_reviews(conn, referral_id),
    }
