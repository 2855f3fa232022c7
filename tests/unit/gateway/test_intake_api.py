"""POST /triage-results and GET /referrals/{id} per CONTRACT.md, on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import running_gateway, triage
from sqlalchemy import func, select

from gateway.store.tables import audit_log, deliveries, fhir_resources, referrals


async def _count(gateway, table) -> int:  # type: ignore[no-untyped-def]
    async with gateway.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_accepts_contract_example_with_routing_and_consent(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        response = await h.submit(triage())
        assert response.status_code == 202, response.text
        body = response.json()
        assert response.headers["location"] == f"/referrals/{body['referral_id']}"
        assert body["status"] == "accepted"
        assert body["consent_id"].startswith("Consent/")
        assert isinstance(body["consent_summary"], str) and body["consent_summary"]
        routes = {r["destination"]: r for r in body["routing"]}
        assert routes["inbox"]["decision"] == "permit"
        assert "clinical" in routes["inbox"]["reason"]
        # PHQ-9 item 9 is 2 in the contract's example: the crisis route is always added.
        assert routes["crisis-desk"]["decision"] == "permit"
        assert "self-harm" in routes["crisis-desk"]["reason"]


async def test_same_triage_twice_answers_the_same_and_stores_nothing_new(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        first = await h.submit(triage())
        counts = [await _count(h.gateway, t) for t in (referrals, fhir_resources, deliveries)]
        again = await h.submit(triage())
        assert again.status_code == 202
        assert again.json() == first.json()
        assert [await _count(h.gateway, t) for t in (referrals, fhir_resources, deliveries)] == (
            counts
        )


async def test_same_triage_id_other_body_is_409(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        await h.submit(triage())
        changed = triage()
        changed["risk"]["rationale"] = "Something else entirely."
        response = await h.submit(changed)
        assert response.status_code == 409
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["expression"] == ["triage_id"]


async def test_same_triage_id_from_another_client_is_a_new_referral(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        a = await h.submit(triage(), client_id="app-a")
        b = await h.submit(triage(), client_id="app-b")
        assert b.status_code == 202
        assert a.json()["referral_id"] != b.json()["referral_id"]


@pytest.mark.parametrize(
    ("mutate", "expression"),
    [
        (lambda b: b["assessments"][0]["answers"].__setitem__(3, 4), "assessments[0].answers[3]"),
        (
            lambda b: b["assessments"][0]["answers"].__setitem__(0, True),
            "assessments[0].answers[0]",
        ),
        (lambda b: b["assessments"][0]["answers"].pop(), "assessments[0].answers"),
        (lambda b: b["assessments"][0].__setitem__("total", 99), "assessments[0].total"),
        (
            lambda b: b["assessments"][1].__setitem__("instrument", "phq-99"),
            "assessments[1].instrument",
        ),
        (lambda b: b["risk"].__setitem__("level", "severe"), "risk.level"),
        (lambda b: b["risk"].__setitem__("confidence", 1.5), "risk.confidence"),
        (lambda b: b["request"].__setitem__("pathway", "spa"), "request.pathway"),
        (lambda b: b.pop("triage_id"), "triage_id"),
        (lambda b: b["patient"].__setitem__("identifiers", []), "patient.identifiers"),
        (
            lambda b: b["patient"].__setitem__("favourite_colour", "blue"),
            "patient.favourite_colour",
        ),
        (lambda b: b["consent"].__setitem__("expires", "2020-01-01"), "consent.expires"),
        (lambda b: b.__setitem__("submitted_at", "yesterday"), "submitted_at"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_stores_nothing(
    tmp_path: Path,
    mutate,
    expression: str,  # type: ignore[no-untyped-def]
) -> None:
    body = triage()
    mutate(body)
    async with running_gateway(tmp_path) as h:
        before = [await _count(h.gateway, t) for t in (referrals, fhir_resources, deliveries)]
        response = await h.submit(body)
        assert response.status_code == 422, response.text
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert expression in [e for i in outcome["issue"] for e in i.get("expression", [])]
        after = [await _count(h.gateway, t) for t in (referrals, fhir_resources, deliveries)]
        assert after == before == [0, before[1], 0]


async def test_a_total_for_the_cssrs_screener_is_refused(tmp_path: Path) -> None:
    body = triage("imminent-risk")
    cssrs = next(
        i for i, a in enumerate(body["assessments"]) if a["instrument"] == "c-ssrs-screener"
    )
    body["assessments"][cssrs]["total"] = 4
    async with running_gateway(tmp_path) as h:
        response = await h.submit(body)
        assert response.status_code == 422
        [issue] = response.json()["issue"]
        assert issue["expression"] == [f"assessments[{cssrs}].total"]
        assert "no total" in issue["diagnostics"]


async def test_total_that_agrees_is_accepted(tmp_path: Path) -> None:
    body = triage()
    body["assessments"][0]["total"] = sum(body["assessments"][0]["answers"])
    async with running_gateway(tmp_path) as h:
        assert (await h.submit(body)).status_code == 202


async def test_not_json_is_400_and_too_large_is_413(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, settings={"max_body_bytes": 4096}) as h:
        response = await h.submit(b"{not json")
        assert response.status_code == 400
        assert response.json()["resourceType"] == "OperationOutcome"
        big = triage()
        big["request"]["note"] = "x" * 3999
        big["risk"]["rationale"] = "y" * 3999
        response = await h.submit(big)
        assert response.status_code == 413
        assert await _count(h.gateway, referrals) == 0


async def test_one_transaction_stores_referral_resources_audit_and_outbox(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        await h.submit(triage())
        assert await _count(h.gateway, referrals) == 1
        assert await _count(h.gateway, deliveries) == 2  # inbox + the safety crisis route
        async with h.gateway.engine.connect() as conn:
            events = sorted(
                row[0]
                for row in await conn.execute(
                    select(audit_log.c.event_type).where(audit_log.c.referral_id.is_not(None))
                )
            )
            assert events == ["consent-decision", "consent-decision", "import"]
            types = {row[0] for row in await conn.execute(select(fhir_resources.c.resource_type))}
        assert {
            "Patient",
            "ServiceRequest",
            "Task",
            "Consent",
            "Observation",
            "QuestionnaireResponse",
            "RiskAssessment",
        } <= types


async def test_referral_view_shows_routing_why_and_delivery(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        referral_id = (await h.submit(triage())).json()["referral_id"]
        assert await h.deliver_all() == 2
        view = (await h.get(f"/referrals/{referral_id}")).json()
        assert view["status"] == "delivered"
        delivery = next(d for d in view["deliveries"] if d["destination"] == "inbox")
        assert delivery["status"] == "delivered"
        assert delivery["attempts"] == 1
        assert delivery["task"]["status"] == "requested"
        assert view["routing"][0]["reason"]
        assert view["explanation"]["risk"]
        assert view["links"]["ServiceRequest"].startswith("/fhir/ServiceRequest/")


async def test_only_the_submitter_or_an_operator_sees_a_referral(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        referral_id = (await h.submit(triage(), client_id="app-a")).json()["referral_id"]
        assert (await h.get(f"/referrals/{referral_id}", client_id="app-b")).status_code == 404
        assert (await h.get(f"/referrals/{referral_id}", client_id="operator")).status_code == 200


async def test_missing_token_is_401_with_bearer_challenge(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        response = await h.client.post("/triage-results", content=json.dumps(triage()))
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert await _count(h.gateway, referrals) == 0


async def test_token_without_the_scope_is_403(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        headers = await h.auth("app-a", "system/ServiceRequest.r")
        response = await h.client.post(
            "/triage-results", content=json.dumps(triage()), headers=headers
        )
        assert response.status_code == 403
        assert response.json()["resourceType"] == "OperationOutcome"


async def test_another_clients_search_never_contains_my_referral(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        await h.submit(triage(), client_id="app-a")
        await h.deliver_all()
        for rtype in ("ServiceRequest", "Patient", "Observation", "RiskAssessment", "Task"):
            mine = (await h.get(f"/fhir/{rtype}", client_id="app-a")).json()
            theirs = (await h.get(f"/fhir/{rtype}", client_id="app-b")).json()
            assert mine["total"] >= 1, rtype
            assert theirs["total"] == 0 and theirs.get("entry", []) == [], rtype
