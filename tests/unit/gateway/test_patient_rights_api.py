"""Accounting of disclosures, export and erasure for one person."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from harness import running_gateway, triage

PERSON = "https://app.example.org/patients|p-123"


async def test_accounting_lists_each_disclosure_with_recipient_and_purpose(
    tmp_path: Path, database_url: str
) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        await h.submit(triage())
        await h.deliver_all()
        response = await h.get(f"/patients/{PERSON}/disclosures", client_id="operator")
        assert response.status_code == 200, response.text
        rows = response.json()["disclosures"]
        recipients = sorted(r["recipient"]["display"] for r in rows)
        assert recipients == ["crisis-desk", "inbox"]
        assert all(r["date"] and r["purpose"] for r in rows)


async def test_identifier_may_come_percent_encoded(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        await h.submit(triage())
        await h.deliver_all()
        encoded = quote(PERSON, safe="")
        response = await h.get(f"/patients/{encoded}/disclosures", client_id="operator")
        assert response.status_code == 200
        assert len(response.json()["disclosures"]) == 2


async def test_reads_need_an_operator_or_audit_scope(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        await h.submit(triage())
        assert (await h.get(f"/patients/{PERSON}/disclosures")).status_code == 403
        assert (await h.get(f"/patients/{PERSON}/export")).status_code == 403


async def test_unknown_person_is_404(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        response = await h.get("/patients/urn:x|nobody/export", client_id="operator")
        assert response.status_code == 404


async def test_export_is_a_bundle_of_everything_held(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        await h.submit(triage())
        await h.deliver_all()
        bundle = (await h.get(f"/patients/{PERSON}/export", client_id="operator")).json()
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
        types = {e["resource"]["resourceType"] for e in bundle["entry"]}
        assert {
            "Patient",
            "Consent",
            "ServiceRequest",
            "Task",
            "Observation",
            "QuestionnaireResponse",
            "RiskAssessment",
            "AuditEvent",
        } <= types


async def test_erasure_erases_keeps_audit_and_says_which(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        referral_id = (await h.submit(triage())).json()["referral_id"]
        await h.deliver_all()
        response = await h.client.delete(
            f"/patients/{PERSON}", headers=await h.auth("operator", "system/Patient.d")
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert any(item.startswith("Patient") for item in answer["erased"])
        assert any("audit" in item for item in answer["kept"])
        assert answer["already_disclosed_to"] == ["crisis-desk", "inbox"]
        # The clinical record is gone, the accounting of disclosures remains.
        bundle = (await h.get(f"/patients/{PERSON}/export", client_id="operator")).json()
        types = {e["resource"]["resourceType"] for e in bundle["entry"]}
        assert "Patient" not in types and "Observation" not in types
        rows = (await h.get(f"/patients/{PERSON}/disclosures", client_id="operator")).json()
        assert len(rows["disclosures"]) == 2
        consent = next(
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"
        )
        assert "p-123" not in str(consent)
        view = (await h.get(f"/referrals/{referral_id}")).json()
        assert view["status"] == "erased"


async def test_erasure_needs_patient_delete_scope(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        await h.submit(triage())
        response = await h.client.delete(
            f"/patients/{PERSON}", headers=await h.auth("operator", "system/*.rs")
        )
        assert response.status_code == 403


async def test_an_operator_reading_the_record_is_an_accounted_disclosure(
    tmp_path: Path, database_url: str
) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        await h.submit(triage())
        await h.get("/fhir/Observation", client_id="operator")
        await h.get("/fhir/Observation")  # the submitter reading its own: no disclosure
        rows = (await h.get(f"/patients/{PERSON}/disclosures", client_id="operator")).json()
        readers = [r for r in rows["disclosures"] if r["purpose"] == ["HOPERAT"]]
        assert len(readers) == 1
        assert readers[0]["recipient"]["identifier"]["value"] == "operator"
