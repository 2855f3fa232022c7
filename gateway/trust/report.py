"""The transparency report, read from the database and computed (the API and the CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import GatewayConfig
from gateway.trust.facts import load_facts
from gateway.trust.figures import Audience, Period, transparency_report

MAX_DAYS = 3660
"""The longest period one report covers (about ten years)."""


async def build_report(
    engine: AsyncEngine,
    config: GatewayConfig,
    period: Period,
    audience: Audience,
    now: datetime,
) -> dict[str, Any]:
    async with engine.connect() as conn:
        facts = await load_facts(conn, config, period)
    return transparency_report(
        facts, period, cards=config.models, drift=config.drift, audience=audience, now=now
    )
