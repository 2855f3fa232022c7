"""Drift alerts: once per crossing, as a metric, a webhook and a banner flag."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import running_gateway, triage
from trust_rig import RECIPIENT, REVIEW_SCOPE, trust_config

from gateway.trust.config import DriftConfig
from gateway.trust.drift import DriftMonitor, active_drift_alerts


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send(self, msg_id: str, payload: Mapping[str, Any]) -> None:
        self.sent.append((msg_id, dict(payload)))

    async def aclose(self) -> None:
        return None


def _metric(text: str, name: str, version: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and f'version="{version}"' in line:
            return line.rsplit(" ", 1)[1]
    return None


async def test_a_drifting_version_raises_one_alert_per_crossing(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=trust_config(check_seconds=0.001)) as h:
        monitor = h.gateway.drift_monitor
        assert monitor is not None
        sender = RecordingSender()
        monitor.notify = sender
        # Declared mix: 1% imminent. This version sends only imminent risk.
        for n in range(4):
            assert (await h.submit(triage("imminent-risk", triage_id=f"i-{n}"))).status_code == 202
        assert await monitor.check() == []  # 4 < min_referrals (5): no verdict yet
        assert await active_drift_alerts(h.gateway.engine) == []
        assert (await h.submit(triage("imminent-risk", triage_id="i-4"))).status_code == 202
        [crossing] = await monitor.check()
        assert (crossing.model, crossing.version, crossing.active) == (
            "example-triage",
            "2.3.1",
            True,
        )
        assert crossing.psi is not None and crossing.psi > 0.25
        assert "PSI" in (crossing.reason or "")
        assert (await h.submit(triage("imminent-risk", triage_id="i-5"))).status_code == 202
        assert await monitor.check() == []  # still drifting: no second announcement
        [(msg_id, payload)] = sender.sent
        assert msg_id.startswith("drift_example-triage_2.3.1_")
        assert payload["type"] == "model.drift.alert"
        assert payload["data"]["model"] == "example-triage"
        assert payload["data"]["version"] == "2.3.1"
        [banner] = await active_drift_alerts(h.gateway.engine)
        assert banner.version == "2.3.1" and banner.referrals == 6

        metrics = (await h.client.get("/metrics")).text
        assert _metric(metrics, "gateway_model_drift_alert", "2.3.1") == "1.0"
        assert _metric(metrics, "gateway_model_drift_alert", "2.4.0") == "0.0"
        assert float(_metric(metrics, "gateway_model_risk_level_psi", "2.3.1") or 0) > 0.25
        assert _metric(metrics, "gateway_model_window_referrals", "2.3.1") == "6.0"

        # The threshold is raised: the alert clears, once.
        calmer = h.gateway.config.model_copy(
            update={"drift": DriftConfig(min_referrals=5, psi_alert=1000)}
        )
        relaxed = DriftMonitor(h.gateway.engine, calmer, clock=h.gateway.clock, notify=sender)
        [cleared] = await relaxed.check()
        assert cleared.active is False
        assert await relaxed.check() == []
        assert [p["type"] for _, p in sender.sent] == ["model.drift.alert", "model.drift.cleared"]
        assert await active_drift_alerts(h.gateway.engine) == []


async def test_under_triage_raises_the_alert_over_enough_reviews(tmp_path: Path) -> None:
    # A huge PSI threshold: only clinicians' reviews can raise this alert.
    async with running_gateway(tmp_path, config=trust_config(psi_alert=1000, min_reviews=2)) as h:
        monitor = h.gateway.drift_monitor
        assert monitor is not None
        ids = []
        for n in range(5):
            response = await h.submit(triage(triage_id=f"m-{n}"))  # moderate, to the inbox
            ids.append(response.json()["referral_id"])
        assert await monitor.check() == []
        for referral_id in ids[:2]:
            review = await h.client.post(
                f"/referrals/{referral_id}/review",
                json={"risk_level": "imminent"},
                headers=await h.auth(RECIPIENT, REVIEW_SCOPE),
            )
            assert review.status_code == 201
        [crossing] = await monitor.check()
        assert crossing.active and "under-triage" in (crossing.reason or "")
        metrics = (await h.client.get("/metrics")).text
        line = next(
            line
            for line in metrics.splitlines()
            if line.startswith("gateway_model_reviews{") and 'agreement="under"' in line
        )
        assert line.endswith(" 2.0")


async def test_a_scrape_sees_a_new_alert_at_once_and_it_is_announced_once(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=trust_config()) as h:
        monitor = h.gateway.drift_monitor
        assert monitor is not None
        sender = RecordingSender()
        monitor.notify = sender
        for n in range(5):
            assert (await h.submit(triage("imminent-risk", triage_id=f"s-{n}"))).status_code == 202
        metrics = (await h.client.get("/metrics")).text  # no check has run before the scrape
        assert _metric(metrics, "gateway_model_drift_alert", "2.3.1") == "1.0"
        await h.client.get("/metrics")
        await monitor.check()
        await monitor.aclose()  # lets the background announcement finish
        assert [p["type"] for _, p in sender.sent] == ["model.drift.alert"]
