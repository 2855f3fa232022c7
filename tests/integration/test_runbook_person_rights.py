"""docs/runbooks/person-rights-request.md, played: the accounting of disclosures, the
export and the erasure the page quotes, and what is kept after it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from harness import running_gateway, triage
from runbook import Runbook

from gateway.app import create_app

pytestmark = pytest.mark.integration

PERSON = quote("https://app.example.org/patients|p-123", safe="")


async def test_person_rights_runbook(tmp_path: Path, database_url: str) -> None:
    page = Runbook("person-rights-request.md")
    page.says("already_disclosed_to", "45 CFR 164.528", "42 CFR Part 2", "kept")
    async with running_gateway(tmp_path, database_url=database_url) as h:
        page.check_paths(create_app(h.gateway))
        referral_id = (await h.submit(triage())).json()["referral_id"]
        await h.deliver_all()
        disclosures = await h.get(f"/patients/{PERSON}/disclosures", client_id="operator")
        rows = disclosures.json()["disclosures"]
        assert sorted(r["recipient"]["display"] for r in rows) == ["crisis-desk", "inbox"]
        assert all(r["date"] and r["purpose"] for r in rows)
        export = (await h.get(f"/patients/{PERSON}/export", client_id="operator")).json()
        assert {"Patient", "ServiceRequest", "AuditEvent"} <= {
            e["resource"]["resourceType"] for e in export["entry"]
        }
        erased = await h.client.delete(
            f"/patients/{PERSON}", headers=await h.auth("operator", "system/Patient.d")
        )
        assert erased.status_code == 200
        answer = erased.json()
        assert answer["erased"] and any("audit" in k for k in answer["kept"])
        assert answer["already_disclosed_to"] == ["crisis-desk", "inbox"]
        again = (await h.get(f"/patients/{PERSON}/export", client_id="operator")).json()
        assert "Patient" not in {e["resource"]["resourceType"] for e in again["entry"]}
        still = await h.get(f"/patients/{PERSON}/disclosures", client_id="operator")
        assert len(still.json()["disclosures"]) == 2  # kept, by law
        assert (await h.get(f"/referrals/{referral_id}")).json()["status"] == "erased"
