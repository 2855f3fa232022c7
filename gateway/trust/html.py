"""The transparency report as ONE self-contained HTML page (CONTRACT.md v1.1,
``gateway report``): styles inline, charts as inline SVG (:mod:`gateway.trust.charts`),
print CSS for paper, and nothing loaded from anywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from gateway.config import GatewayConfig
from gateway.context import fhir_instant
from gateway.trust import charts
from gateway.trust.charts import number

_env = Environment(
    loader=PackageLoader("gateway.trust", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _pct(value: Any) -> str:
    return "–" if number(value) is None else f"{float(value) * 100:.0f}%"


def _num(value: Any, places: int = 0) -> str:
    return "–" if number(value) is None else f"{float(value):.{places}f}"


def _duration(seconds: Any) -> str:
    if number(seconds) is None:
        return "–"
    s = float(seconds)
    return f"{s:.0f} s" if s < 120 else (f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h")


def _hours(value: Any) -> str:
    return "–" if number(value) is None else f"{float(value):.1f} h"


def render_report(report: dict[str, Any], config: GatewayConfig, generated: datetime) -> str:
    """The page for ``report`` (the JSON of ``GET /transparency/report``)."""
    models = report["models"]
    slas = [d.ack_sla_seconds for d in config.crisis_destinations]
    sla = min(slas) if slas else None
    steps = [
        ("received", report["totals"]["referrals"]),
        ("delivered", report["loop"]["delivered"]),
        ("accepted", report["loop"]["accepted"]),
        ("completed", report["loop"]["completed"]),
    ]
    rendered = {
        "volume": charts.volume_chart(report["volume_by_day"]),
        "mix": [charts.risk_mix_chart(m) for m in models],
        "agreement": charts.agreement_chart(models)
        if any(m["agreement_rate"] is not None for m in models)
        else "",
        "ack": charts.ack_chart(report["crisis"], sla)
        if number(report["crisis"]["time_to_ack_seconds"]["p50"]) is not None
        else "",
        "funnel": charts.funnel_chart(steps),
    }
    return _env.get_template("report.html.j2").render(
        r=report,
        charts=rendered,
        alerts=[m for m in models if m["drift"]["alert"]],
        psi_alert=config.drift.psi_alert,
        under_alert=config.drift.under_triage_alert,
        sla_seconds=sla,
        generated=fhir_instant(generated)[:16].replace("T", " ") + " UTC",
        pct=_pct,
        num=_num,
        duration=_duration,
        hours=_hours,
    )
