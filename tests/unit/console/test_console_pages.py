"""The crisis desk, the inbox, the referral page and the Task buttons, without a browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
from console_rig import Rig, console_rig, csrf
from harness import triage
from sqlalchemy import select

from gateway.console.accounts import ConsoleRole
from gateway.store.tables import audit_log


async def _submit(rig: Rig, name: str, **changes: Any) -> str:
    response = await rig.harness.submit(triage(name, **changes))
    assert response.status_code == 202, response.text
    await rig.harness.deliver_all()
    return str(response.json()["referral_id"])


async def _console_views(rig: Rig, username: str) -> list[dict[str, Any]]:
    async with rig.harness.gateway.engine.connect() as conn:
        rows = await conn.execute(
            select(audit_log.c.entry).where(audit_log.c.event_type == "read-disclosure")
        )
        entries = [orjson.loads(row[0]) for row in rows]
    return [e for e in entries if username in orjson.dumps(e).decode()]


async def test_crisis_desk_lists_and_acknowledges_as_the_username(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        referral_id = await _submit(rig, "imminent-risk")
        cara = rig.browser()
        await cara.sign_in("cara")
        page = await cara.get("/console/crisis")
        assert page.status_code == 200
        assert "Sam J. Lee" in page.text and "+1-555-0199" in page.text
        assert "imminent" in page.text and ">Acknowledge</button>" in page.text
        assert "sam@example.org" not in page.text  # only what a call needs
        assert "data-deadline=" in page.text and "data-since=" in page.text
        rows = await cara.get("/console/crisis/queue")
        assert f'data-referral="{referral_id}"' in rows.text and "<html" not in rows.text
        confirm = await cara.get(f"/console/crisis/{referral_id}/acknowledge")
        assert 'for="note">Note<' in confirm.text and ">Acknowledge</button>" in confirm.text
        done = await cara.post(f"/console/crisis/{referral_id}/acknowledge",
                               {"csrf_token": csrf(confirm.text), "note": "Called, safe now"})
        assert done.status_code == 303
        after = await cara.get("/console/crisis/queue")
        assert referral_id not in after.text
        view = (await rig.harness.get(f"/referrals/{referral_id}", "operator")).json()
        ack = view["deliveries"][0]["acknowledgement"]
        assert ack["by"] == "cara" and ack["at"] and ack["note"] == "Called, safe now"
        assert await _console_views(rig, "cara")


async def test_recipients_and_other_roles_cannot_open_the_crisis_desk(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        rita = rig.browser()
        await rita.sign_in("rita")
        assert (await rita.get("/console/crisis")).status_code == 403
        assert (await rita.get("/console/dead-letters")).status_code == 403
        assert (await rita.get("/console/people")).status_code == 403


async def test_inbox_isolation_between_recipients(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        mine = await _submit(rig, "contract-example", triage_id="t-rita")
        theirs = await _submit(rig, "contract-example", triage_id="t-bea",
                               request={"pathway": "self-care", "urgency": "routine"})
        rita, bea = rig.browser(), rig.browser()
        await rita.sign_in("rita")
        await bea.sign_in("bea")
        inbox = await rita.get("/console/inbox")
        link = re.search(rf'href="/console/referrals/{mine}">([^<]+)<', inbox.text)
        assert link and "Ana Ruiz" in link.group(1)
        assert theirs not in inbox.text and "urgent" in inbox.text
        assert "Sent here because" in inbox.text
        assert (await rita.get(f"/console/referrals/{theirs}")).status_code == 404
        assert (await bea.get(f"/console/referrals/{mine}")).status_code == 404
        assert (await bea.get("/console/referrals/no-such-id")).status_code == 404
        assert mine not in (await bea.get("/console/inbox")).text


async def test_accept_start_complete_update_the_task_as_put_does(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        referral_id = await _submit(rig, "contract-example")
        rita = rig.browser()
        await rita.sign_in("rita")
        page = await rita.get(f"/console/referrals/{referral_id}")
        assert ">Accept</button>" in page.text and ">Reject</button>" in page.text
        assert ">Complete</button>" not in page.text
        assert "The AI's part" in page.text and "example-triage" in page.text
        assert "2.3.1" in page.text and "82%" in page.text
        task_id = re.search(r'/tasks/([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
        accepted = await rita.post(f"/console/referrals/{referral_id}/tasks/{task_id}", {
            "csrf_token": csrf(page.text), "status": "accepted", "version": version})
        assert accepted.status_code == 303
        task = (await rig.harness.get(f"/fhir/Task/{task_id}", "app-a")).json()
        assert task["status"] == "accepted"
        page = await rita.get(f"/console/referrals/{referral_id}")
        assert ">Start</button>" in page.text and ">Accept</button>" not in page.text
        stale = await rita.post(f"/console/referrals/{referral_id}/tasks/{task_id}", {
            "csrf_token": csrf(page.text), "status": "in-progress", "version": version})
        assert stale.status_code == 412  # the page showed an older version
        for status in ("in-progress", "completed"):
            page = await rita.get(f"/console/referrals/{referral_id}")
            new_version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
            moved = await rita.post(f"/console/referrals/{referral_id}/tasks/{task_id}", {
                "csrf_token": csrf(page.text), "status": status, "version": new_version})
            assert moved.status_code == 303
        task = (await rig.harness.get(f"/fhir/Task/{task_id}", "app-a")).json()
        assert task["status"] == "completed"
        async with rig.harness.gateway.engine.connect() as conn:
            updates = [orjson.loads(r[0]) for r in await conn.execute(
                select(audit_log.c.entry).where(audit_log.c.event_type == "task-updated"))]
        assert len(updates) == 3 and "console:rita" in orjson.dumps(updates[0]).decode()


async def test_reject_needs_a_reason(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        referral_id = await _submit(rig, "contract-example")
        rita = rig.browser()
        await rita.sign_in("rita")
        page = await rita.get(f"/console/referrals/{referral_id}")
        assert 'for="reason-' in page.text and ">Reason<" in page.text
        task_id = re.search(r'/tasks/([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
        bare = await rita.post(f"/console/referrals/{referral_id}/tasks/{task_id}", {
            "csrf_token": csrf(page.text), "status": "rejected", "version": version})
        assert bare.status_code == 422
        done = await rita.post(f"/console/referrals/{referral_id}/tasks/{task_id}", {
            "csrf_token": csrf(page.text), "status": "rejected", "version": version,
            "reason": "No capacity this month"})
        assert done.status_code == 303
        task = (await rig.harness.get(f"/fhir/Task/{task_id}", "app-a")).json()
        assert task["status"] == "rejected"
        assert task["statusReason"]["text"] == "No capacity this month"


async def test_task_posts_need_the_token_and_this_origin(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        referral_id = await _submit(rig, "contract-example")
        rita = rig.browser()
        await rita.sign_in("rita")
        page = await rita.get(f"/console/referrals/{referral_id}")
        task_id = re.search(r'/tasks/([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        path = f"/console/referrals/{referral_id}/tasks/{task_id}"
        assert (await rita.post(path, {"status": "accepted", "version": "1"})).status_code == 403
        assert (await rita.post(path, {"csrf_token": csrf(page.text), "status": "accepted",
                                       "version": "1"}, origin="https://evil.example")
                ).status_code == 403
        task = (await rig.harness.get(f"/fhir/Task/{task_id}", "app-a")).json()
        assert task["status"] != "accepted"


async def test_community_recipient_sees_the_minimised_referral(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        await rig.add_user("cora", ConsoleRole.RECIPIENT, "community-inbox")
        referral_id = await _submit(rig, "contract-example",
                                    request={"pathway": "community", "urgency": "routine"})
        cora = rig.browser()
        await cora.sign_in("cora")
        page = await cora.get(f"/console/referrals/{referral_id}")
        assert page.status_code == 200 and "Ana Ruiz" in page.text
        assert "1990-04-02" not in page.text  # no birth date for a community service
        assert "The AI's part" not in page.text and "PHQ-9" not in page.text
        assert await _console_views(rig, "cora")


async def test_operator_sees_the_timeline_and_dead_letters(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        referral_id = await _submit(rig, "imminent-risk")
        olive = rig.browser()
        await olive.sign_in("olive")
        page = await olive.get(f"/console/referrals/{referral_id}")
        assert "Timeline" in page.text and "Routing and consent" in page.text
        assert "Deliveries and attempts" in page.text and "attempt 1" in page.text
        assert "Emergency" in page.text  # the consent decision's reason for the crisis route
        assert "emergency-disclosure" in page.text  # from the audit trail
        letters = await olive.get("/console/dead-letters")
        assert letters.status_code == 200
        assert "Emergency disclosures awaiting review" in letters.text
        assert "app-a" in letters.text  # registered clients


async def test_privacy_officer_looks_up_exports_and_erases(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        referral_id = await _submit(rig, "contract-example")
        rita = rig.browser()
        await rita.sign_in("rita")
        await rita.get(f"/console/referrals/{referral_id}")
        pia = rig.browser()
        await pia.sign_in("pia")
        identifier = "https://app.example.org/patients|p-123"
        page = await pia.get(f"/console/people?identifier={identifier}")
        assert page.status_code == 200 and "rita" in page.text and "intact" in page.text
        assert "You agreed to share" in page.text
        export = await pia.post("/console/people/export",
                                {"csrf_token": csrf(page.text), "identifier": identifier})
        assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
        assert export.json()["resourceType"] == "Bundle"
        wrong = await pia.post("/console/people/erase", {
            "csrf_token": csrf(page.text), "identifier": identifier, "confirm": "p-123"})
        assert wrong.status_code == 422
        erased = await pia.post("/console/people/erase", {
            "csrf_token": csrf(page.text), "identifier": identifier, "confirm": identifier})
        assert erased.status_code == 200 and "Erased" in erased.text
