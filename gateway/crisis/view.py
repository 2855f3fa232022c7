"""The crisis sections of ``GET /referrals/{id}``: who acknowledged, when, and escalations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.context import fhir_instant
from gateway.crisis.acknowledge import acknowledgement_view
from gateway.intake.service import LANE_CRISIS
from gateway.store.tables_crisis import crisis_acknowledgements, escalations


async def crisis_sections(
    conn: AsyncConnection, delivery_rows: Sequence[Any], *, include_notes: bool
) -> dict[str, dict[str, Any]]:
    """Per crisis delivery id: ``acknowledgement`` (or ``None``) and ``escalations``.

    ``delivery_rows`` are ``deliveries`` rows; those outside the crisis lane are ignored.
    The acknowledgement's free-text note is shown only when ``include_notes`` (operators).
    """
    sections: dict[str, dict[str, Any]] = {
        row.id: {"acknowledgement": None, "escalations": []}
        for row in delivery_rows
        if row.lane == LANE_CRISIS
    }
    if not sections:
        return sections
    for row in await conn.execute(
        select(crisis_acknowledgements).where(
            crisis_acknowledgements.c.delivery_id.in_(list(sections))
        )
    ):
        view = acknowledgement_view(row)
        del view["delivery_id"], view["destination"]
        if not include_notes:
            del view["note"]
        sections[row.delivery_id]["acknowledgement"] = view
    for row in await conn.execute(
        select(escalations)
        .where(escalations.c.delivery_id.in_(list(sections)))
        .order_by(escalations.c.step)
    ):
        sections[row.delivery_id]["escalations"].append(
            {
                "step": row.step,
                "contact": row.contact,
                "reason": row.reason,
                "outcome": row.outcome,
                "at": fhir_instant(row.at, "auto"),
            }
        )
    return sections
