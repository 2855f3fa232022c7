"""The ``gateway`` command: serve, worker, demo, clients, audit, dlq (CONTRACT.md)."""

from __future__ import annotations

import asyncio
import getpass
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.cli_activity import activity_app
from gateway.cli_clients import clients_app
from gateway.cli_destinations import destinations_app
from gateway.cli_keys import keys_app
from gateway.cli_models import models_app
from gateway.cli_report import report_command
from gateway.cli_users import users_app
from gateway.config import ConfigError, GatewayConfig
from gateway.settings import Settings

app = typer.Typer(help="Mental-health referral gateway.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the tamper-evident audit log.")
dlq_app = typer.Typer(help="Dead-lettered deliveries: list and replay.")
app.add_typer(clients_app, name="clients")
app.add_typer(audit_app, name="audit")
app.add_typer(dlq_app, name="dlq")
app.add_typer(keys_app, name="keys")
app.add_typer(destinations_app, name="destinations")
app.command("report")(report_command)
app.add_typer(users_app, name="users")
app.add_typer(models_app, name="models")
app.add_typer(activity_app, name="activity")

T = TypeVar("T")


def _settings(**overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**values)
    except ValueError as exc:
        typer.echo(f"gateway: bad setting: {exc}", err=True)
        raise typer.Exit(2) from None


def _config(settings: Settings) -> GatewayConfig:
    from gateway.bootstrap import load_gateway_config

    try:
        return load_gateway_config(settings)
    except ConfigError as exc:
        typer.echo(f"gateway: configuration refused: {exc}", err=True)
        raise typer.Exit(2) from None


def _with_engine(settings: Settings, action: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    from gateway.store.db import create_engine, migrate

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            return await action(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (GATEWAY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (GATEWAY_PORT).")] = None,
    worker: Annotated[
        bool, typer.Option(help="Run the delivery worker too (as a child process).")
    ] = True,
) -> None:
    """Start the gateway (and, by default, its delivery worker in a child process)."""
    import uvicorn

    from gateway.app import create_app
    from gateway.bootstrap import build_gateway
    from gateway.delivery.process import WorkerProcess
    from gateway.logging import configure_logging, get_logger

    settings = _settings(host=host, port=port, run_worker=False)
    config = _config(settings)
    configure_logging(settings.log_level)
    try:
        gateway = build_gateway(settings, config)
    except ConfigError as exc:
        typer.echo(f"gateway: configuration refused: {exc}", err=True)
        raise typer.Exit(2) from None
    if worker:  # its own process: deliveries never take the API's event loop
        gateway.use_worker_process(WorkerProcess())
    log = get_logger("gateway.serve")
    log.info("gateway.listening", host=settings.host, port=settings.port)
    uvicorn.run(
        create_app(gateway),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        log_config=None,  # uvicorn's records go through the JSON handler of configure_logging
        timeout_graceful_shutdown=10,
    )
    log.info("gateway.stopped")


@app.command("worker")
def run_worker(
    once: Annotated[bool, typer.Option(help="Deliver what is due, then exit.")] = False,
    wake_fd: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the background work without the API: deliveries, crisis watch, notifications.

    Several may run against PostgreSQL; deliveries are claimed with SKIP LOCKED.
    """
    from gateway.bootstrap import build_gateway
    from gateway.delivery.process import listen_for_wakes
    from gateway.logging import configure_logging

    settings = _settings()
    config = _config(settings)
    configure_logging(settings.log_level)

    async def run() -> None:
        gateway = build_gateway(settings, config)
        await gateway.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            if once:
                await gateway.worker.drain()
            else:
                await gateway.start_worker(stop)
                if wake_fd is not None:  # started by ``gateway serve``
                    listen_for_wakes(wake_fd, gateway.services.wake_worker, stop)
                await stop.wait()
        finally:
            await gateway.close()

    asyncio.run(run())


@app.command()
def demo(
    url: Annotated[str, typer.Option(help="The running gateway.")] = "http://127.0.0.1:8080",
    examples: Annotated[Path, typer.Option(help="Folder of triage results.")] = Path(
        "examples/triage"
    ),
    client_id: Annotated[str, typer.Option()] = "demo-triage-app",
    key: Annotated[Path, typer.Option(help="The client's private key (PEM).")] = Path(
        "examples/keys/demo-triage-app.DEMO-ONLY.pem"
    ),
    kid: Annotated[str, typer.Option()] = "demo-app-1",
) -> None:
    """Submit every example triage result to a running gateway and print where each went."""
    import httpx

    from connectors.base import DeliveryError
    from gateway.demo import run_demo

    try:
        code = asyncio.run(run_demo(url, examples, client_id, key, kid, out=sys.stdout))
    except (httpx.HTTPError, DeliveryError) as exc:
        typer.echo(f"gateway demo: the gateway at {url} failed: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"gateway demo: {exc}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@audit_app.command("verify")
def audit_verify(
    head: Annotated[
        Path | None, typer.Option(help="A head exported earlier, to detect a truncated tail.")
    ] = None,
) -> None:
    """Recompute the hash chain; exit non-zero naming the first bad entry."""
    from gateway.audit.chain import Head, VerifyResult
    from gateway.operations import verify_audit

    expected = Head.from_json(head.read_text()) if head else None

    async def verify(engine: AsyncEngine) -> VerifyResult:
        async with engine.connect() as conn:
            return await verify_audit(conn, expected)

    result = _with_engine(_settings(), verify)
    if not result.ok:
        typer.echo(f"audit log altered: entry {result.first_bad_seq}: {result.problem}", err=True)
        raise typer.Exit(1)
    count = result.head.seq if result.head else 0
    typer.echo(f"audit log intact: {count} entries")


@audit_app.command("head")
def audit_head() -> None:
    """Print the current head (seq and chain hash) to keep outside the database."""
    from gateway.audit.chain import Head
    from gateway.operations import export_head

    async def fetch(engine: AsyncEngine) -> Head | None:
        async with engine.connect() as conn:
            return await export_head(conn)

    found = _with_engine(_settings(), fetch)
    typer.echo(found.to_json() if found else '{"seq": 0, "chain_hash": "' + "00" * 32 + '"}')


@dlq_app.command("list")
def dlq_list() -> None:
    """Deliveries that ran out of attempts or failed permanently."""
    from gateway.delivery.dead_letters import DeadLetter, dead_letters

    async def fetch(engine: AsyncEngine) -> list[DeadLetter]:
        async with engine.connect() as conn:
            return await dead_letters(conn)

    letters = _with_engine(_settings(), fetch)
    for letter in letters:
        typer.echo(json.dumps(letter.to_dict()))
    if not letters:
        typer.echo("no dead letters")


@dlq_app.command("replay")
def dlq_replay(delivery_id: Annotated[str, typer.Argument()]) -> None:
    """Queue a dead-lettered delivery again."""
    from gateway.audit.recorder import AuditRecorder
    from gateway.context import utc_now
    from gateway.delivery.dead_letters import replay_dead_letter

    settings = _settings()

    async def replay(engine: AsyncEngine) -> bool:
        audit = AuditRecorder(engine, utc_now, settings.public_url)
        async with engine.begin() as conn:
            return await replay_dead_letter(
                conn, delivery_id, utc_now(), audit=audit, operator=f"cli:{getpass.getuser()}"
            )

    if not _with_engine(settings, replay):
        typer.echo(f"gateway: {delivery_id} is not a dead letter", err=True)
        raise typer.Exit(1)
    typer.echo(f"queued {delivery_id} again")


if __name__ == "__main__":
    app()
