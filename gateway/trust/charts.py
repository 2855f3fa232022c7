"""The report's charts: matplotlib's SVG backend, made fit to inline in HTML.

Every chart is drawn on its own ``Figure`` (no pyplot state), with text kept as text
(``svg.fonttype: none``) in the page's own fonts, and stripped of the XML prologue,
metadata, comments and namespace URLs so the page refers to nothing outside itself.
Colours are the Okabe-Ito palette, distinguishable with colour-vision deficiency.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec

from matplotlib import rc_context
from matplotlib.figure import Figure

from gateway.trust.config import RISK_LEVELS

BLUE, ORANGE, GREEN, SKY, GREY, INK = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#56B4E9",
    "#8a8f98",
    "#1f2933",
)
LEVEL_COLOURS = {
    "none": "#cfe3f1",
    "low": SKY,
    "moderate": BLUE,
    "high": "#E69F00",
    "imminent": ORANGE,
}
_STRIP = (
    re.compile(r"<\?xml[^>]*\?>\s*"),
    re.compile(r"<!DOCTYPE[^>]*>\s*"),
    re.compile(r"<!--.*?-->\s*", re.S),
    re.compile(r"<metadata>.*?</metadata>\s*", re.S),
    re.compile(r'\s+xmlns(:\w+)?="[^"]*"'),
)


def number(value: Any) -> float | None:
    """A figure as a number; None for a suppressed ("<11") or missing one."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _label(text: str) -> str:
    return text.replace("$", r"\$")  # never mathtext


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=96)
    figure.patch.set_alpha(0)
    return figure


def _axes(figure: Figure) -> Any:
    ax = figure.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color(GREY)
    ax.spines["bottom"].set_color(GREY)
    ax.tick_params(colors=INK, labelsize=9)
    ax.set_facecolor("none")
    return ax


def to_svg(figure: Figure, title: str) -> str:
    """The figure as an inline ``<svg>`` element with an accessible title."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    for pattern in _STRIP:
        svg = pattern.sub("", svg)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_escape(title)}" ', 1)
    return svg.strip()


_SETTINGS: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
}
P = ParamSpec("P")


def _styled(draw: Callable[P, str]) -> Callable[P, str]:
    """Draw with these charts' matplotlib settings; the global ones are left as they were."""

    @functools.wraps(draw)
    def styled(*args: P.args, **kwargs: P.kwargs) -> str:
        with rc_context(_SETTINGS):  # type: ignore[arg-type]  # keys are rc names
            return draw(*args, **kwargs)

    return styled


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


@_styled
def volume_chart(days: Sequence[dict[str, Any]]) -> str:
    figure = _figure(7.2, 2.4)
    ax = _axes(figure)
    values = [number(d["referrals"]) for d in days]
    positions = range(len(days))
    ax.bar(positions, [v or 0 for v in values], color=BLUE, width=0.8)
    for x, v in zip(positions, values, strict=True):
        if v is None:
            ax.annotate("<11", (x, 0), ha="center", va="bottom", fontsize=7, color=GREY)
    ax.set_xlim(-0.6, max(len(days), 7) - 0.4)  # a short period keeps slim bars
    step = max(1, len(days) // 8)
    ax.set_xticks(list(positions)[::step], [d["date"][5:] for d in days][::step])
    ax.set_ylabel("referrals per day", fontsize=9, color=INK)
    ax.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    return to_svg(figure, "Referrals received per day")


@_styled
def risk_mix_chart(model: dict[str, Any]) -> str:
    """Observed share of each risk level (bars) against the card's declared share (marks)."""
    figure = _figure(3.6, 2.3)
    ax = _axes(figure)
    counts = [number(model["risk_levels"][level]) for level in RISK_LEVELS]
    total = number(model["referrals"]) or 0
    shares = [(c / total) if (c is not None and total) else 0 for c in counts]
    ax.bar(RISK_LEVELS, shares, color=[LEVEL_COLOURS[level] for level in RISK_LEVELS])
    expected = model.get("expected_risk_levels")
    if expected:
        ax.scatter(
            RISK_LEVELS,
            [expected[level] for level in RISK_LEVELS],
            marker="_",
            s=900,
            linewidths=2.5,
            color=INK,
            label="declared on the card",
            zorder=3,
        )
        ax.legend(
            frameon=False, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), borderaxespad=0
        )
    for x, c in enumerate(counts):
        if c is None:
            ax.annotate("<11", (x, 0), ha="center", va="bottom", fontsize=7, color=GREY)
    top = max([*shares, *(expected or {}).values(), 0.1])
    top = min(1.0, math.ceil((top + 0.05) * 4) / 4)
    ticks = [t / 4 for t in range(int(top * 4) + 1)]
    ax.set_ylim(0, top)
    ax.set_yticks(ticks, [f"{t:.0%}" for t in ticks])
    figure.tight_layout()
    return to_svg(figure, _label(f"Risk-level mix of {model['name']} {model['version']}"))


@_styled
def agreement_chart(models: Sequence[dict[str, Any]]) -> str:
    """Per version: the share of reviews that agree, rate higher (under-triage), lower."""
    rows = [m for m in models if m["agreement_rate"] is not None]
    figure = _figure(7.2, 0.6 + 0.45 * max(len(rows), 1))
    ax = _axes(figure)
    labels = [_label(f"{m['name']} {m['version']}") for m in rows]
    left = [0.0] * len(rows)
    for key, colour, text in (
        ("agreement_rate", GREEN, "agree"),
        ("under_triage_rate", ORANGE, "clinician rated higher"),
        ("over_triage_rate", SKY, "clinician rated lower"),
    ):
        widths = [float(m[key]) for m in rows]
        ax.barh(labels, widths, left=left, color=colour, label=text, height=0.6)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0", "25%", "50%", "75%", "100%"])
    ax.invert_yaxis()
    ax.legend(frameon=False, fontsize=8, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    figure.tight_layout()
    return to_svg(figure, "Clinicians' agreement with each model version")


@_styled
def ack_chart(crisis: dict[str, Any], sla_seconds: float | None) -> str:
    times = crisis["time_to_ack_seconds"]
    figure = _figure(3.6, 2.1)
    ax = _axes(figure)
    names = ["half answered within", "9 in 10 answered within"]
    values = [number(times["p50"]) or 0, number(times["p90"]) or 0]
    ax.barh(names, [v / 60 for v in values], color=[BLUE, "#E69F00"], height=0.55)
    if sla_seconds:
        ax.axvline(sla_seconds / 60, color=ORANGE, linestyle="--", linewidth=1.5)
        ax.annotate(
            "SLA",
            (sla_seconds / 60, 1.4),
            color=ORANGE,
            fontsize=8,
            ha="center",
            annotation_clip=False,
        )
    ax.set_xlabel("minutes", fontsize=9, color=INK)
    ax.invert_yaxis()
    figure.tight_layout()
    return to_svg(figure, "Time for a person to acknowledge a crisis referral")


@_styled
def funnel_chart(steps: Sequence[tuple[str, Any]]) -> str:
    figure = _figure(7.2, 2.3)
    ax = _axes(figure)
    labels = [name for name, _ in steps]
    values = [number(v) for _, v in steps]
    ax.barh(
        labels,
        [v or 0 for v in values],
        color=[BLUE, SKY, GREEN, "#117733"][: len(steps)],
        height=0.6,
    )
    for y, v in enumerate(values):
        ax.annotate(
            "<11" if v is None else f"{int(v)}",
            (v or 0, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
            color=INK,
        )
    ax.invert_yaxis()
    ax.xaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    return to_svg(figure, "The referral funnel: received, delivered, accepted, completed")
