"""Beside the AI's output on a referral page: the model card, the clinicians' reviews, and
whether the referral came from a paused model version (docs/monitoring.md)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.console.referrals_seen import SeenReferral
from gateway.services import Services
from gateway.store.tables import referrals
from gateway.trust.cards import card_view, referral_model
from gateway.trust.reviews import referral_reviews


async def trust_of(conn: AsyncConnection, services: Services, seen: SeenReferral) -> dict[str, Any]:
    """The template values ``card``, ``reviews`` and ``paused`` for ``seen``."""
    name, version = referral_model(seen.explanation)
    answer = (
        await conn.execute(select(referrals.c.response).where(referrals.c.id == seen.referral_id))
    ).scalar_one()
    stored = orjson.loads(answer) if answer else {}
    return {
        "card": card_view(services.config.models, name, version) if name else None,
        "reviews": await referral_reviews(conn, seen.referral_id),
        "paused": stored.get("model_paused_reason") if stored.get("model_paused") else None,
    }
