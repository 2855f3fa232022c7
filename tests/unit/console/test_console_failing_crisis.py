"""A crisis delivery that fails is still on the desk, flagged; operators replay it and
review the emergency disclosure from the console."""

from __future__ import annotations

import re
from pathlib import Path

from console_rig import console_rig, csrf
from harness import triage

from connectors.mock import MockConnector


def _connectors(crisis: MockConnector) -> dict[str, MockConnector]:
    return {"inbox": MockConnector(), "community-inbox": MockConnector(),
            "clinic-b": MockConnector(), "crisis-desk": crisis}


async def test_a_dead_lettered_crisis_delivery_is_flagged_and_replayed(tmp_path: Path) -> None:
    crisis = MockConnector(permanent_reason="crisis line refused the call")
    async with console_rig(tmp_path, connectors=_connectors(crisis)) as rig:
        response = await rig.harness.submit(triage("imminent-risk"))
        referral_id = response.json()["referral_id"]
        await rig.harness.deliver_all()
        cara = rig.browser()
        await cara.sign_in("cara")
        desk = await cara.get("/console/crisis")
        row = desk.text.split(f'data-referral="{referral_id}"', 1)[1].split("</tr>", 1)[0]
        assert "Sam J. Lee" in row and "Delivery dead-lettered" in row
        olive = rig.browser()
        await olive.sign_in("olive")
        letters = await olive.get("/console/dead-letters")
        assert referral_id in letters.text and ">Replay</button>" in letters.text
        found = re.search(r"/console/dead-letters/([^/]+)/replay", letters.text)
        assert found
        delivery_id = found.group(1)
        replayed = await olive.post(f"/console/dead-letters/{delivery_id}/replay",
                                    {"csrf_token": csrf(letters.text)})
        assert replayed.status_code == 303
        crisis.permanent_reason = None
        await rig.harness.deliver_all()
        view = (await rig.harness.get(f"/referrals/{referral_id}", "operator")).json()
        assert view["deliveries"][0]["status"] == "delivered"
        desk = await cara.get("/console/crisis")
        row = desk.text.split(f'data-referral="{referral_id}"', 1)[1].split("</tr>", 1)[0]
        assert "Delivery dead-lettered" not in row  # delivered now, still unacknowledged


async def test_a_failing_crisis_delivery_is_listed_flagged(tmp_path: Path) -> None:
    crisis = MockConnector(transient_failures=100)
    async with console_rig(tmp_path, connectors=_connectors(crisis)) as rig:
        response = await rig.harness.submit(triage("imminent-risk"))
        referral_id = response.json()["referral_id"]
        await rig.harness.deliver_all()
        cara = rig.browser()
        await cara.sign_in("cara")
        rows = await cara.get("/console/crisis/queue")
        assert referral_id in rows.text and "Delivery failing" in rows.text


async def test_operator_reviews_an_emergency_disclosure(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        body = triage("imminent-risk")
        body["consent"]["share_with"] = ["ehr"]  # imminent risk: the crisis route goes anyway
        assert (await rig.harness.submit(body)).status_code == 202
        await rig.harness.deliver_all()
        olive = rig.browser()
        await olive.sign_in("olive")
        page = await olive.get("/console/dead-letters")
        assert ">Mark reviewed</button>" in page.text
        found = re.search(r"/console/emergency-disclosures/(\d+)/review", page.text)
        assert found
        seq = found.group(1)
        done = await olive.post(f"/console/emergency-disclosures/{seq}/review",
                                {"csrf_token": csrf(page.text), "note": "Justified"})
        assert done.status_code == 303
        listed = (await rig.harness.get("/operations/emergency-disclosures", "operator")).json()
        reviewed = next(d for d in listed["emergency_disclosures"] if str(d["seq"]) == seq)
        assert reviewed["review"]["by"] == "olive"
        assert ">Mark reviewed</button>" not in (await olive.get("/console/dead-letters")).text


async def test_crisis_responder_opens_the_crisis_minimised_referral(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        response = await rig.harness.submit(triage("imminent-risk"))
        referral_id = response.json()["referral_id"]
        await rig.harness.deliver_all()
        cara = rig.browser()
        await cara.sign_in("cara")
        page = await cara.get(f"/console/referrals/{referral_id}")
        assert page.status_code == 200 and "Sam J. Lee" in page.text
        assert "For crisis-desk" in page.text and "For inbox" not in page.text
        assert ">Accept</button>" not in page.text  # the desk acknowledges instead
        assert "Scores" not in page.text  # a crisis team does not get the answers
