"""``gateway report --from D --to D [--audience public] --out FILE.html``.

Reads the database named by ``GATEWAY_DATABASE_URL`` (no running gateway needed) and
writes the transparency report as one self-contained HTML page (:mod:`gateway.trust.html`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from gateway.errors import InvalidInput


def report_command(
    start: Annotated[str, typer.Option("--from", help="First day (UTC), YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="Last day (UTC), inclusive, YYYY-MM-DD")],
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write")],
    audience: Annotated[
        str, typer.Option("--audience", help="internal, or public (small cells as <11)")
    ] = "internal",
) -> None:
    """Write the transparency report as one self-contained HTML file."""
    from gateway.cli import _config, _settings, _with_engine
    from gateway.trust.html import render_report
    from gateway.trust.report import build_report, parse_period

    if audience not in ("internal", "public"):
        typer.echo("gateway report: --audience must be 'internal' or 'public'", err=True)
        raise typer.Exit(2)
    chosen: Literal["internal", "public"] = "public" if audience == "public" else "internal"
    try:
        period = parse_period(start, end)
    except InvalidInput as error:
        typer.echo(
            f"gateway report: {error}".replace("'from'", "--from").replace("'to'", "--to"), err=True
        )
        raise typer.Exit(2) from None
    settings = _settings()
    config = _config(settings)
    from gateway.context import utc_now

    now = utc_now()

    async def figures(engine: Any) -> dict[str, Any]:
        return await build_report(engine, config, period, chosen, now)

    report = _with_engine(settings, figures)
    out.write_text(render_report(report, config, now), encoding="utf-8")
    typer.echo(f"Wrote {out} ({report['totals']['referrals']} referrals, {chosen} audience).")
