"""Shared by the delivery benches: accept referrals through the real intake, or fill the
outbox fast by copying one accepted referral and its delivery row (new ids).

The copies are real outbox rows: the worker claims, re-checks consent, minimises,
delivers and records each one exactly as it would an accepted referral's delivery.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from harness import Harness  # noqa: E402
from sekmet import unique_triage  # noqa: E402

from gateway.store.tables import deliveries, referrals  # noqa: E402

EVERY_RECIPIENT = {
    "share_with": ["crisis", "community", "ehr"],
    "purposes": ["TREAT"],
    "expires": "2027-11-27",
    "accepted_text_version": "consent-text-v3",
}


def routine_triage() -> dict[str, Any]:
    """A routine referral (self-care, no risk) the default inbox may receive."""
    return unique_triage("self-care", consent=EVERY_RECIPIENT)


async def accept(h: Harness, body: dict[str, Any]) -> dict[str, Any]:
    """Accept one triage result through ``POST /triage-results``."""
    response = await h.submit(body)
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


async def copy_deliveries(h: Harness, referral_id: str, count: int) -> None:
    """Add ``count`` copies of an accepted referral (new ids and triage ids), each with
    a pending copy of its first delivery row."""
    async with h.gateway.engine.begin() as conn:
        referral = dict(
            (await conn.execute(select(referrals).where(referrals.c.id == referral_id))).one()
            ._mapping
        )
        delivery = dict(
            (
                await conn.execute(
                    select(deliveries).where(deliveries.c.referral_id == referral_id)
                )
            )
            .first()
            ._mapping  # type: ignore[union-attr]
        )
        for start in range(0, count, 500):
            new_ids = [str(uuid.uuid4()) for _ in range(min(500, count - start))]
            await conn.execute(
                insert(referrals),
                [{**referral, "id": new_id, "triage_id": new_id} for new_id in new_ids],
            )
            await conn.execute(
                insert(deliveries),
                [
                    {**delivery, "id": str(uuid.uuid4()), "referral_id": new_id}
                    for new_id in new_ids
                ],
            )
