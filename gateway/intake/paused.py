"""Intake's step for paused model versions (``gateway models pause``).

The paused set is read from the database on every write, one small query per
batch and only when a submission names a model, so a pause takes effect at once in
every process. A paused version's referral is still accepted; only its routing
changes (gateway/paused_routing.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.config import GatewayConfig
from gateway.intake.facts import routing_facts
from gateway.paused_routing import route_paused
from gateway.store.paused_models import paused_versions

if TYPE_CHECKING:
    from gateway.intake.service import Prepared


async def route_paused_to_people(
    conn: AsyncConnection, config: GatewayConfig, items: Sequence[Prepared]
) -> None:
    """Re-route, in place, each item whose model version is paused."""
    named = [item for item in items if item.submission.model is not None]
    if not named:
        return
    paused = await paused_versions(conn)
    if not paused:
        return
    for item in named:
        model = item.submission.model
        assert model is not None
        if (model.name, model.version) in paused:
            item.decision = route_paused(
                item.decision,
                routing_facts(item.submission, item.scored),
                config,
                model=(model.name, model.version),
            )
