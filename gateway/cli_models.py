"""``gateway models pause|resume|list``: stop trusting a model version without losing
one referral (CONTRACT.md v1.1, "Operations"; docs/runbooks/model-drift-alert.md)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.paused_models import PausedModel

models_app = typer.Typer(
    help="Triage model versions: pause (route to people), resume, list.", no_args_is_help=True
)

By = Annotated[str | None, typer.Option("--by", help="Who does this (default: cli:<user>).")]


def _who(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


def _switch(name: str, version: str, *, pause: bool, by: str, reason: str | None) -> bool:
    from gateway.audit.recorder import AuditRecorder
    from gateway.cli import _settings, _with_engine
    from gateway.context import utc_now
    from gateway.store.paused_models import pause_model, resume_model

    settings = _settings()

    async def run(engine: AsyncEngine) -> bool:
        gateway = AuditRecorder(engine, utc_now, settings.public_url).gateway
        async with engine.begin() as conn:
            if pause:
                return await pause_model(
                    conn, name, version, by=by, now=utc_now(), gateway=gateway, reason=reason
                )
            return await resume_model(conn, name, version, by=by, now=utc_now(), gateway=gateway)

    return _with_engine(settings, run)


@models_app.command("pause")
def models_pause(
    name: Annotated[str, typer.Argument(help="The model's name, as apps send it.")],
    version: Annotated[str, typer.Argument(help="The version to pause.")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
    by: By = None,
) -> None:
    """Pause a model version at once in every process: its referrals are still accepted,
    go only to a person (the crisis desk when high-risk, else the operators' inbox), and
    are flagged ``model_paused``."""
    if not _switch(name, version, pause=True, by=_who(by), reason=reason):
        typer.echo(f"{name} {version} was already paused")
        return
    typer.echo(f"paused {name} {version}: its referrals now go to a person only")


@models_app.command("resume")
def models_resume(
    name: Annotated[str, typer.Argument()],
    version: Annotated[str, typer.Argument()],
    by: By = None,
) -> None:
    """Resume a paused model version: its new referrals follow the routing rules again."""
    if not _switch(name, version, pause=False, by=_who(by), reason=None):
        typer.echo(f"gateway: {name} {version} is not paused", err=True)
        raise typer.Exit(1)
    typer.echo(f"resumed {name} {version}")


@models_app.command("list")
def models_list() -> None:
    """The paused model versions: name, version, since, by whom, why."""
    from gateway.cli import _settings, _with_engine
    from gateway.context import fhir_instant
    from gateway.store.paused_models import list_paused

    async def run(engine: AsyncEngine) -> list[PausedModel]:
        async with engine.connect() as conn:
            return await list_paused(conn)

    paused = _with_engine(_settings(), run)
    if not paused:
        typer.echo("no model version is paused")
        return
    typer.echo("name\tversion\tpaused since\tby\treason")
    for p in paused:
        typer.echo(
            f"{p.name}\t{p.version}\t{fhir_instant(p.paused_at)}\t{p.paused_by}\t{p.reason or '-'}"
        )
