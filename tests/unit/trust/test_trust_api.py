"""Model cards, clinicians' reviews and the transparency report over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
from fhir_schema import problems
from harness import Harness, running_gateway, triage
from sqlalchemy import select
from trust_rig import CRISIS, RECIPIENT, REVIEW_SCOPE, trust_config

from gateway.store import fhir_store
from gateway.store.tables import audit_log
from mappings.ids import resource_uuid


async def _submit(h: Harness, name: str = "contract-example", **changes: object) -> str:
    response = await h.submit(triage(name, **changes))
    assert response.status_code == 202, response.text
    return str(response.json()["referral_id"])


async def _review(h: Harness, referral_id: str, client_id: str, scope: str = REVIEW_SCOPE, **body):  # type: ignore[no-untyped-def]
    return await h.client.post(
        f"/referrals/{referral_id}/review",
        json={"risk_level": "high", **body},
        headers=await h.auth(client_id, scope),
    )


async def test_the_model_card_is_served_and_shown_beside_the_ai_output(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=trust_config()) as h:
        card = await h.get("/models/example-triage/2.3.1")
        assert card.status_code == 200, card.text
        body = card.json()
        assert body["declared"] is True
        for attribute in (
            "developer",
            "intended_use",
            "intended_population",
            "out_of_scope",
            "limitations",
            "validation",
            "fairness",
            "maintenance",
        ):
            assert body[attribute]
        assert body["expected_risk_levels"]["low"] == 0.5
        assert (await h.get("/models/example-triage/9.9.9")).status_code == 404
        assert (await h.client.get("/models/example-triage/2.3.1")).status_code == 401
        # any authenticated client, whatever its scopes
        other = await h.client.get(
            "/models/example-triage/2.3.1", headers=await h.auth(RECIPIENT, "system/Task.rs")
        )
        assert other.status_code == 200

        declared = await _submit(h)
        view = (await h.get(f"/referrals/{declared}")).json()
        assert view["model_card"]["declared"] is True
        assert view["model_card"]["link"] == "/models/example-triage/2.3.1"
        assert view["model_card"]["intended_use"].startswith("Suggest a risk level")
        assert view["reviews"] == []

        undeclared = await _submit(
            h, triage_id="undeclared-1", model={"name": "other-model", "version": "0.1"}
        )
        view = (await h.get(f"/referrals/{undeclared}")).json()
        assert view["model_card"] == {"name": "other-model", "version": "0.1", "declared": False}


async def test_the_provenance_of_the_ai_risk_assessment_links_the_card(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=trust_config()) as h:
        referral_id = await _submit(h)
        async with h.gateway.engine.connect() as conn:
            _, found = await fhir_store.search(
                conn, fhir_store.SearchQuery("Provenance", only_published=False, count=10)
            )
        [provenance] = [p.body for p in found if p.referral_id == referral_id]
        assert provenance["target"] == [
            {"reference": f"RiskAssessment/{resource_uuid(referral_id, 'risk-assessment')}"}
        ]
        links = [e["what"].get("identifier", {}).get("value") for e in provenance["entity"]]
        assert "http://gateway.test/models/example-triage/2.3.1" in links


async def test_who_may_review(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=trust_config()) as h:
        body = triage(triage_id="no-crisis-1")  # without item 9: to the inbox only
        body["assessments"][0]["answers"][8] = 0
        body["risk"]["signals"] = []
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        referral_id = response.json()["referral_id"]
        submitting = await _review(h, referral_id, "app-a")
        assert submitting.status_code == 403, submitting.text
        assert submitting.json()["resourceType"] == "OperationOutcome"
        assert (await _review(h, referral_id, "app-b")).status_code == 404
        assert (await _review(h, referral_id, CRISIS)).status_code == 404  # not its referral
        no_scope = await _review(h, referral_id, RECIPIENT, scope="system/Task.rs")
        assert no_scope.status_code == 403
        assert (await _review(h, "no-such-referral", RECIPIENT)).status_code == 404
        bad = await _review(h, referral_id, RECIPIENT, risk_level="extreme")
        assert bad.status_code == 422

        recipient = await _review(h, referral_id, RECIPIENT, note="Sounds worse on the phone.")
        assert recipient.status_code == 201, recipient.text
        review = recipient.json()
        assert review["risk_level"] == "high"
        assert review["ai_risk_level"] == "moderate"
        assert review["agreement"] == "under-triage"
        assert review["replaced"] is False
        operator = await _review(
            h, referral_id, "operator", f"system/*.rs {REVIEW_SCOPE}", risk_level="moderate"
        )
        assert operator.status_code == 201, operator.text
        assert operator.json()["agreement"] == "agreement"


async def test_crisis_service_client_may_review_its_referral(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=trust_config()) as h:
        referral_id = await _submit(h, "imminent-risk")
        response = await _review(h, referral_id, CRISIS, risk_level="imminent")
        assert response.status_code == 201, response.text
        assert response.json()["agreement"] == "agreement"


async def test_a_later_review_replaces_the_earlier_one_and_is_stored_as_fhir(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path, config=trust_config()) as h:
        referral_id = await _submit(h)
        first = await _review(h, referral_id, RECIPIENT, risk_level="low", by="Dr Lee")
        second = await _review(h, referral_id, RECIPIENT, risk_level="imminent", by="Dr Lee")
        assert second.status_code == 201
        assert second.json()["replaced"] is True
        assert first.json()["links"] == second.json()["links"]
        view = (await h.get(f"/referrals/{referral_id}")).json()
        [review] = view["reviews"]
        assert review["risk_level"] == "imminent" and review["reviewer"] == "Dr Lee"

        async with h.gateway.engine.connect() as conn:
            ra_id = second.json()["links"]["RiskAssessment"].rsplit("/", 1)[1]
            prov_id = second.json()["links"]["Provenance"].rsplit("/", 1)[1]
            assessment = await fhir_store.read(conn, "RiskAssessment", ra_id)
            provenance = await fhir_store.read(conn, "Provenance", prov_id)
            events = [
                orjson.loads(row.entry)
                for row in await conn.execute(
                    select(audit_log.c.entry).where(audit_log.c.event_type == "review-recorded")
                )
            ]
        assert assessment is not None and provenance is not None
        assert assessment.version_id == 2
        ai = f"RiskAssessment/{resource_uuid(referral_id, 'risk-assessment')}"
        assert assessment.body["basis"] == [{"reference": ai}]
        assert assessment.body["prediction"][0]["qualitativeRisk"]["text"] == "imminent"
        assert provenance.body["target"] == [{"reference": f"RiskAssessment/{ra_id}"}]
        [agent] = provenance.body["agent"]
        assert agent["type"]["coding"][0]["code"] == "verifier"
        assert agent["who"] == {"display": "Dr Lee"}
        assert agent["onBehalfOf"] == {"reference": "Organization/inbox"}
        assert provenance.body["entity"] == [{"role": "source", "what": {"reference": ai}}]
        assert len(events) == 2
        assert "Sounds" not in orjson.dumps(events).decode()


async def test_the_transparency_report_over_http(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=trust_config()) as h:
        referral_id = await _submit(h)
        await _submit(h, triage_id="undeclared-1", model={"name": "other", "version": "1"})
        await _review(h, referral_id, RECIPIENT)
        today = datetime.now(UTC).date().isoformat()
        response = await h.get("/transparency/report", "operator", **{"from": today, "to": today})
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["totals"]["referrals"] == 2
        models = {(m["name"], m["version"]): m for m in report["models"]}
        assert models[("example-triage", "2.3.1")]["referrals"] == 1
        assert models[("example-triage", "2.3.1")]["reviews"] == 1
        assert models[("example-triage", "2.3.1")]["under_triage_rate"] == 1.0
        assert models[("example-triage", "2.4.0")]["referrals"] == 0
        assert models[("other", "1")]["declared"] is False

        public = await h.get(
            "/transparency/report", "operator", **{"from": today, "to": today, "audience": "public"}
        )
        assert public.json()["totals"]["referrals"] == "<11"
        assert public.json()["models"][0]["under_triage_rate"] is None

        forbidden = await h.get("/transparency/report", "app-a", **{"from": today, "to": today})
        assert forbidden.status_code == 403
        for params, where in (
            ({"from": "2026-02-31", "to": today}, "from"),
            ({"from": today, "to": "tomorrow"}, "to"),
            ({"from": today, "to": "2000-01-01"}, "to"),
        ):
            bad = await h.get("/transparency/report", "operator", **params)
            assert bad.status_code == 422, bad.text
            assert bad.json()["issue"][0]["expression"] == [where]
        missing = await h.get("/transparency/report", "operator", to=today)
        assert missing.status_code == 422
        assert "from" in missing.json()["issue"][0]["expression"][0]


async def test_review_resources_and_the_linked_provenance_are_valid_r4(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=trust_config()) as h:
        referral_id = await _submit(h)
        review = await _review(h, referral_id, RECIPIENT, note="Called: worse than the answers.")
        assert review.status_code == 201
        async with h.gateway.engine.connect() as conn:
            _, found = await fhir_store.search(
                conn, fhir_store.SearchQuery("Provenance", only_published=False, count=10)
            )
            ra_id = review.json()["links"]["RiskAssessment"].rsplit("/", 1)[1]
            assessment = await fhir_store.read(conn, "RiskAssessment", ra_id)
        assert assessment is not None
        resources = [assessment.body, *(p.body for p in found)]
        assert len(resources) == 3  # the clinician's RiskAssessment, both Provenances
        for resource in resources:
            assert problems(resource) == [], resource


async def test_two_people_reviewing_through_one_client_are_two_reviewers(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=trust_config()) as h:
        referral_id = await _submit(h)
        assert (await _review(h, referral_id, RECIPIENT, by="Dr Lee")).status_code == 201
        again = await _review(h, referral_id, RECIPIENT, by="Nurse Ode", risk_level="moderate")
        assert again.json()["replaced"] is False
        view = (await h.get(f"/referrals/{referral_id}")).json()
        assert sorted(r["reviewer"] for r in view["reviews"]) == ["Dr Lee", "Nurse Ode"]
