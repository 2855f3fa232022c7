"""Consent through the API: filed, referenced, revoked in flight, summarised, emergency."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import running_gateway, triage
from sqlalchemy import select

from connectors.mock import MockConnector
from gateway.store.tables import audit_log, referrals


def consent_resource(share_with: list[str], identifier: dict[str, str]) -> dict[str, Any]:
    permits = [
        {
            "type": "permit",
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                            }
                        ]
                    },
                    "reference": {
                        "identifier": {
                            "system": "urn:referral-gateway:recipient-category",
                            "value": c,
                        }
                    },
                }
            ],
            "purpose": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}
            ],
        }
        for c in share_with
    ]
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"identifier": identifier},
        "dateTime": "2026-11-27T09:00:00Z",
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        "provision": {"type": "deny", "period": {"start": "2026-11-27"}, "provision": permits},
    }


async def _post_consent(h: Any, resource: dict[str, Any]) -> Any:
    return await h.client.post(
        "/fhir/Consent",
        content=json.dumps(resource),
        headers={**await h.auth(), "Content-Type": "application/fhir+json"},
    )


async def test_filed_consent_is_referenced_by_a_submission(
    tmp_path: Path, database_url: str
) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        body = triage()
        created = await _post_consent(
            h, consent_resource(["ehr", "crisis"], body["patient"]["identifiers"][0])
        )
        assert created.status_code == 201, created.text
        consent_id = created.json()["id"]
        body["consent"] = {"consent_ref": f"Consent/{consent_id}"}
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        assert response.json()["consent_id"] == f"Consent/{consent_id}"


async def test_consent_of_someone_else_is_422(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        created = await _post_consent(
            h, consent_resource(["ehr"], {"system": "https://other.example", "value": "x"})
        )
        body = triage()
        body["consent"] = {"consent_ref": f"Consent/{created.json()['id']}"}
        response = await h.submit(body)
        assert response.status_code == 422
        assert response.json()["issue"][0]["expression"] == ["consent.consent_ref"]


async def test_invalid_consent_names_the_element(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        resource = consent_resource(["ehr"], {"system": "s", "value": "v"})
        resource["status"] = "maybe"
        response = await _post_consent(h, resource)
        assert response.status_code == 422
        assert "Consent.status" in response.json()["issue"][0]["expression"]


async def test_consent_covering_nothing_chosen_is_403_and_stores_nothing(
    tmp_path: Path, database_url: str
) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        body = triage("contract-example")
        body["consent"]["share_with"] = ["community"]
        body["assessments"][0]["answers"][8] = 0  # no self-harm signal: only the inbox route
        response = await h.submit(body)
        assert response.status_code == 403
        assert response.json()["resourceType"] == "OperationOutcome"
        async with h.gateway.engine.connect() as conn:
            assert (await conn.execute(select(referrals.c.id))).first() is None


async def test_uncovered_destination_is_skipped_with_the_reason(
    tmp_path: Path, database_url: str
) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        body = triage("contract-example")
        body["consent"]["share_with"] = ["ehr"]  # the safety crisis route is not covered
        response = await h.submit(body)
        assert response.status_code == 202
        routes = {r["destination"]: r for r in response.json()["routing"]}
        assert routes["inbox"]["decision"] == "permit"
        assert routes["crisis-desk"]["decision"] == "deny"
        assert routes["crisis-desk"]["skipped"] is True
        assert routes["crisis-desk"]["consent_reason"]


async def test_imminent_risk_reaches_crisis_without_consent_as_emergency(
    tmp_path: Path, database_url: str
) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        body = triage("imminent-risk")
        body["consent"]["share_with"] = ["community"]
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        crisis = next(r for r in response.json()["routing"] if r["destination"] == "crisis-desk")
        assert crisis["decision"] == "permit"
        assert crisis["purpose"] == "ETREAT"
        assert crisis["emergency"] is True
        await h.deliver_all()
        async with h.gateway.engine.connect() as conn:
            kinds = [r[0] for r in await conn.execute(select(audit_log.c.event_type))]
        assert "emergency-disclosure" in kinds


async def test_revoked_between_accept_and_deliver_makes_zero_outbound_calls(
    tmp_path: Path, database_url: str
) -> None:
    inbox, crisis = MockConnector(), MockConnector()
    async with running_gateway(
        tmp_path,
        database_url=database_url,
        connectors={"inbox": inbox, "crisis-desk": crisis, "community-inbox": MockConnector()},
    ) as h:
        accepted = (await h.submit(triage())).json()
        consent_id = accepted["consent_id"].split("/")[1]
        current = (await h.get(f"/fhir/Consent/{consent_id}")).json()
        current["status"] = "inactive"
        revoked = await h.client.put(
            f"/fhir/Consent/{consent_id}",
            content=json.dumps(current),
            headers={
                **await h.auth(),
                "If-Match": 'W/"1"',
                "Content-Type": "application/fhir+json",
            },
        )
        assert revoked.status_code == 200, revoked.text
        await h.deliver_all()
        assert inbox.attempts == [] and crisis.attempts == []
        view = (await h.get(f"/referrals/{accepted['referral_id']}")).json()
        assert {d["status"] for d in view["deliveries"]} == {"withheld"}
        assert view["status"] == "withheld"


async def test_stale_if_match_is_412(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        accepted = (await h.submit(triage())).json()
        consent_id = accepted["consent_id"].split("/")[1]
        current = (await h.get(f"/fhir/Consent/{consent_id}")).json()
        response = await h.client.put(
            f"/fhir/Consent/{consent_id}",
            content=json.dumps(current),
            headers={**await h.auth(), "If-Match": 'W/"7"'},
        )
        assert response.status_code == 412


async def test_another_client_cannot_revoke(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        accepted = (await h.submit(triage(), client_id="app-a")).json()
        consent_id = accepted["consent_id"].split("/")[1]
        current = (await h.get(f"/fhir/Consent/{consent_id}")).json()
        current["status"] = "inactive"
        response = await h.client.put(
            f"/fhir/Consent/{consent_id}",
            content=json.dumps(current),
            headers=await h.auth("app-b"),
        )
        assert response.status_code == 404


async def test_summary_is_plain_and_names_withdrawal(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url) as h:
        accepted = (await h.submit(triage())).json()
        consent_id = accepted["consent_id"].split("/")[1]
        summary = (await h.get(f"/consents/{consent_id}/summary")).json()
        assert summary["headline"]
        assert summary["withdraw"]
        assert "TREAT" not in summary["summary"]  # words, not codes
