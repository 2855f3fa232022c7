"""The transparency report, read from the database and computed (the API and the CLI)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import GatewayConfig
from gateway.errors import InvalidInput, Issue
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


def _day(value: str, parameter: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"'{parameter}' must be a calendar date YYYY-MM-DD.",
            issues=[Issue("not a date YYYY-MM-DD", expression=parameter)],
        ) from None


def parse_period(start: str, end: str) -> Period:
    period = Period(_day(start, "from"), _day(end, "to"))
    if period.end < period.start:
        raise InvalidInput(
            "'to' is before 'from'.", issues=[Issue("before 'from'", expression="to")]
        )
    if (period.end - period.start).days >= MAX_DAYS:
        raise InvalidInput(
            f"A report covers at most {MAX_DAYS} days.",
            issues=[Issue(f"more than {MAX_DAYS} days after 'from'", expression="to")],
        )
    return period
