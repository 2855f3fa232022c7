"""The HTML transparency report: one self-contained page, and ``gateway report`` writes it."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import yaml
from harness import running_gateway, triage
from trust_rig import RECIPIENT, REVIEW_SCOPE, trust_config
from trust_sample import PERIOD, sample_config, sample_facts
from typer.testing import CliRunner

from gateway.cli import app
from gateway.trust.figures import transparency_report
from gateway.trust.html import render_report

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _page(audience: str = "internal") -> str:
    config = sample_config()
    report = transparency_report(
        sample_facts(),
        PERIOD,
        cards=config.models,
        drift=config.drift,
        audience=audience,
        now=NOW,  # type: ignore[arg-type]
    )
    return render_report(report, config, NOW)


def assert_self_contained(page: str) -> None:
    """Nothing in the page may make a browser fetch anything."""
    lowered = page.lower()
    for forbidden in (
        "http://",
        "https://",
        "//cdn",
        "<script",
        "<link",
        "<iframe",
        "<img",
        "<object",
        "<embed",
        "@import",
        "@font-face",
        " src=",
        'xlink:href="http',
    ):
        assert forbidden not in lowered, forbidden
    assert re.findall(r"url\((?!#)", lowered) == []  # only the SVG's own clip paths
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert all(h.startswith("#") for h in hrefs), hrefs


def test_the_page_is_self_contained_with_inline_svg_charts() -> None:
    page = _page()
    assert_self_contained(page)
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page and "@media print" in page and "@page" in page
    # volume, one mix chart per version (3), agreement, acknowledgement, funnel
    assert page.count("<svg ") == 7
    assert 'aria-label="Referrals received per day"' in page
    assert "night-shift-llm" in page and "not declared" in page
    assert "drift alert" in page  # 2.4.0 drifts from the card's mix


def test_the_public_page_shows_small_cells_as_under_11() -> None:
    page = _page("public")
    assert_self_contained(page)
    assert "Public audience" in page
    assert "&lt;11" in page


def test_gateway_report_writes_the_page_from_the_database(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    config_file = tmp_path / "gateway.yaml"

    async def fill() -> None:
        def build(keys):  # type: ignore[no-untyped-def]
            config = trust_config()(keys)
            config_file.write_text(yaml.safe_dump(config))
            return config

        async with running_gateway(tmp_path, database_url=database, config=build) as h:
            for n in range(3):
                response = await h.submit(triage(triage_id=f"t-{n}"))
                assert response.status_code == 202
            review = await h.client.post(
                f"/referrals/{response.json()['referral_id']}/review",
                json={"risk_level": "high"},
                headers=await h.auth(RECIPIENT, REVIEW_SCOPE),
            )
            assert review.status_code == 201

    asyncio.run(fill())
    today = datetime.now(UTC).date().isoformat()
    out = tmp_path / "report.html"
    env = {"GATEWAY_DATABASE_URL": database, "GATEWAY_CONFIG": str(config_file)}
    result = CliRunner().invoke(
        app, ["report", "--from", today, "--to", today, "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert_self_contained(page)
    assert "example-triage" in page
    assert re.search(r'class="n">3<', page)  # three referrals received

    public = CliRunner().invoke(
        app,
        ["report", "--from", today, "--to", today, "--audience", "public", "--out", str(out)],
        env=env,
    )
    assert public.exit_code == 0, public.output
    assert re.search(r'class="n">&lt;11<', out.read_text())

    bad = CliRunner().invoke(
        app, ["report", "--from", "2026-13-01", "--to", today, "--out", str(out)], env=env
    )
    assert bad.exit_code == 2
    assert "--from" in bad.output
