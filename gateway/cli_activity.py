"""``gateway activity client CLIENT_ID``: list what a client did, from the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.client_activity import Activity

activity_app = typer.Typer(
    help="What a client did, from the audit log (an incident's first question).",
    no_args_is_help=True,
)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            "a date (2026-11-27) or an instant (2026-11-27T10:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@activity_app.command("client")
def activity_client(
    client_id: Annotated[str, typer.Argument(help="The client's client_id.")],
    since: Annotated[str | None, typer.Option(help="From this date or instant (UTC).")] = None,
) -> None:
    """One JSON line per audit entry naming the client: tokens, submissions, consents."""
    from gateway.cli import _settings, _with_engine
    from gateway.client_activity import client_activity
    from gateway.context import fhir_instant

    start = _since(since)

    async def run(engine: AsyncEngine) -> list[Activity]:
        async with engine.connect() as conn:
            return await client_activity(conn, client_id, start)

    found = _with_engine(_settings(), run)
    for activity in found:
        typer.echo(json.dumps(activity.to_dict(fhir_instant(activity.recorded_at))))
    referrals = sorted({a.referral_id for a in found if a.referral_id})
    people = sorted({a.patient_id for a in found if a.patient_id})
    typer.echo(
        f"{client_id}: {len(found)} entries, {len(referrals)} referrals, {len(people)} people",
        err=True,
    )
