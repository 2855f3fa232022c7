"""Beside the AI's output in the console: the model card, "Your risk level", the drift
banner and the paused-version flag (CONTRACT.md v1.1 "Models, clinicians' reviews")."""

from __future__ import annotations

import re
from pathlib import Path

from console_rig import console_rig, csrf
from harness import triage

from gateway.store.paused_models import pause_model


async def test_a_recipient_sees_the_card_and_records_its_own_risk_level(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        submitted = await rig.harness.submit(triage())
        referral_id = submitted.json()["referral_id"]
        await rig.harness.deliver_all()
        rita = rig.browser()
        await rita.sign_in("rita")
        page = await rita.get(f"/console/referrals/{referral_id}")
        assert page.status_code == 200
        assert "Model card: example-triage 2.3.1" in page.text
        assert "Suggest a risk level for a clinician to review." in page.text
        assert 'for="review-level">Your risk level<' in page.text
        done = await rita.post(
            f"/console/referrals/{referral_id}/review",
            {"csrf_token": csrf(page.text), "risk_level": "imminent", "note": "Spoke to her."},
        )
        assert done.status_code == 303
        after = await rita.get(f"/console/referrals/{referral_id}?done=reviewed")
        assert re.search(r"rita: imminent \(the model said moderate: under-triage\)", after.text)
        view = (await rig.harness.get(f"/referrals/{referral_id}", "operator")).json()
        assert [(r["reviewer"], r["risk_level"]) for r in view["reviews"]] == [("rita", "imminent")]
        refused = await rita.post(
            f"/console/referrals/{referral_id}/review",
            {"csrf_token": csrf(page.text), "risk_level": "catastrophic"},
        )
        assert refused.status_code == 422


async def test_a_review_needs_the_referral_to_be_addressed_to_the_user(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        submitted = await rig.harness.submit(triage())
        referral_id = submitted.json()["referral_id"]
        await rig.harness.deliver_all()
        bea = rig.browser()
        await bea.sign_in("bea")
        inbox = await bea.get("/console/inbox")
        answer = await bea.post(
            f"/console/referrals/{referral_id}/review",
            {"csrf_token": csrf(inbox.text), "risk_level": "low"},
        )
        assert answer.status_code == 404
        view = (await rig.harness.get(f"/referrals/{referral_id}", "operator")).json()
        assert view["reviews"] == []


async def test_a_drift_alert_is_a_banner_on_every_page(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        await rig.harness.submit(triage())
        rita = rig.browser()
        await rita.sign_in("rita")
        assert "Model drift alert" not in (await rita.get("/console/inbox")).text
        monitor = rig.harness.gateway.drift_monitor
        assert monitor is not None
        await monitor.check()
        page = await rita.get("/console/inbox")
        assert "Model drift alert: example-triage 2.3.1" in page.text


async def test_a_referral_from_a_paused_version_is_flagged_on_its_page(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        gateway = rig.harness.gateway
        async with gateway.engine.begin() as conn:
            await pause_model(conn, "example-triage", "2.3.1", by="olive", now=gateway.clock(),
                              gateway=gateway.services.audit.gateway, reason="under review")
        body = triage()
        body["risk"]["signals"] = []
        body["assessments"][0]["answers"][8] = 0  # routine: it goes to an operator's inbox
        submitted = await rig.harness.submit(body)
        assert submitted.status_code == 202, submitted.text
        referral_id = submitted.json()["referral_id"]
        await rig.harness.deliver_all()
        olive = rig.browser()
        await olive.sign_in("olive")
        page = await olive.get(f"/console/referrals/{referral_id}")
        assert page.status_code == 200
        assert "From a paused model version" in page.text
