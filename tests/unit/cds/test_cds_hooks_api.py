"""The CDS Hooks endpoints over HTTP, called by signed CDS clients (ES384 and RS384)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from cds_client import SERVICE_PATH, CdsClient, es384_key, patient_view, rs384_key
from harness import PUBLIC_URL, Harness, base_config, running_gateway, triage
from joserfc.jwk import ECKey
from sqlalchemy import select, update

from gateway.cds.cards import card_uuid
from gateway.cds.feedback import load_cds_feedback
from gateway.store.tables import fhir_resources
from gateway.store.tables_cds import cds_feedback

EHR = CdsClient("https://ehr.example.org", es384_key("ehr-es-1"), "ES384")
RS_EHR = CdsClient("https://rs-ehr.example.org", rs384_key("ehr-rs-1"), "RS384")
STRANGER = CdsClient("https://stranger.example.org", es384_key("stranger-1"), "ES384")
AUD = PUBLIC_URL + SERVICE_PATH
SYSTEM = "https://app.example.org/patients"


def _config(keys: dict[str, ECKey]) -> dict[str, Any]:
    return base_config(
        keys,
        cds_clients=[
            {"iss": EHR.iss, "jwks": EHR.jwks, "name": "County EHR"},
            {"iss": RS_EHR.iss, "jwks": RS_EHR.jwks},
        ],
    )


def _person(name: str = "imminent-risk", **changes: Any) -> tuple[dict[str, Any], str]:
    body = triage(name, **changes)
    value = f"p-{uuid.uuid4().hex[:10]}"
    body["triage_id"] = f"t-{value}"
    body["patient"]["identifiers"] = [{"system": SYSTEM, "value": value}]
    return body, value


async def _call(
    h: Harness, body: dict[str, Any], token: str | None, path: str = SERVICE_PATH
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await h.client.post(path, json=body, headers=headers)


def _view(value: str, **kwargs: Any) -> dict[str, Any]:
    return patient_view(identifiers=[{"system": SYSTEM, "value": value}], **kwargs)


@pytest.fixture
async def h(tmp_path: Path) -> Any:
    async with running_gateway(tmp_path, config=_config) as harness:
        yield harness


async def test_discovery_lists_the_patient_view_service_with_its_prefetch(h: Harness) -> None:
    response = await h.client.get("/cds-services")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    [service] = response.json()["services"]
    assert service["hook"] == "patient-view"
    assert service["id"] == SERVICE_PATH.rsplit("/", 1)[1]
    assert service["title"] and service["description"]
    assert service["prefetch"] == {"patient": "Patient/{{context.patientId}}"}


async def test_discovery_verifies_a_jwt_when_one_is_given(h: Harness) -> None:
    good = await h.client.get(
        "/cds-services",
        headers={"Authorization": f"Bearer {EHR.token(PUBLIC_URL + '/cds-services')}"},
    )
    assert good.status_code == 200
    wrong_aud = await h.client.get(
        "/cds-services", headers={"Authorization": f"Bearer {EHR.token(AUD)}"}
    )
    assert wrong_aud.status_code == 401


@pytest.mark.parametrize("client", [EHR, RS_EHR], ids=["ES384", "RS384"])
async def test_an_imminent_risk_referral_is_one_critical_card(
    h: Harness, client: CdsClient
) -> None:
    body, value = _person()
    accepted = await h.submit(body)
    assert accepted.status_code == 202, accepted.text
    referral_id = accepted.json()["referral_id"]

    response = await _call(h, _view(value), client.token(AUD))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    [card] = response.json()["cards"]
    assert card["uuid"] == card_uuid(referral_id)
    assert card["indicator"] == "critical"
    assert len(card["summary"]) < 140 and "imminent" in card["summary"]
    assert card["source"]["url"] == f"{PUBLIC_URL}/models/example-triage/2.3.1"
    assert "app-a" in card["source"]["label"] and "example-triage" in card["source"]["label"]
    assert card["links"][0]["url"] == f"{PUBLIC_URL}/console/referrals/{referral_id}"
    assert "### What the AI model produced" in card["detail"]
    again = await _call(h, _view(value), client.token(AUD))
    assert [c["uuid"] for c in again.json()["cards"]] == [card["uuid"]]


async def test_a_person_without_referrals_gets_no_cards(h: Harness) -> None:
    await h.submit(_person()[0])
    response = await _call(h, _view("p-nobody-here"), EHR.token(AUD))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


async def test_a_null_prefetch_means_no_patient_and_no_cards(h: Harness) -> None:
    response = await _call(h, patient_view(None), EHR.token(AUD))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


async def test_without_prefetch_or_fhir_server_the_answer_is_412(h: Harness) -> None:
    response = await _call(h, patient_view(False), EHR.token(AUD))
    assert response.status_code == 412
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_one_card_per_open_referral_and_none_for_a_closed_one(h: Harness) -> None:
    first, value = _person("contract-example")
    second = {**first, "triage_id": first["triage_id"] + "-2"}
    ids = [(await h.submit(b)).json()["referral_id"] for b in (first, second)]
    async with h.gateway.engine.begin() as conn:
        await conn.execute(
            update(fhir_resources)
            .where(fhir_resources.c.referral_id == ids[0], fhir_resources.c.resource_type == "Task")
            .values(status="completed")
        )
    response = await _call(h, _view(value), EHR.token(AUD))
    assert [c["uuid"] for c in response.json()["cards"]] == [card_uuid(ids[1])]


async def test_no_card_when_the_consent_does_not_share_with_the_ehr(h: Harness) -> None:
    body, value = _person()
    body["consent"] = {**body["consent"], "share_with": ["crisis"]}
    assert (await h.submit(body)).status_code == 202
    response = await _call(h, _view(value), EHR.token(AUD))
    assert response.json() == {"cards": []}


async def test_each_card_shown_is_in_the_accounting_of_disclosures(h: Harness) -> None:
    body, value = _person()
    await h.submit(body)
    await _call(h, _view(value), EHR.token(AUD))
    response = await h.get(f"/patients/{SYSTEM}|{value}/disclosures", client_id="operator")
    assert response.status_code == 200
    recipients = [row["recipient"] for row in response.json()["disclosures"]]
    assert any(
        (r or {}).get("identifier", {}).get("value") == EHR.iss and "County EHR" in r["display"]
        for r in recipients
    ), recipients


def _bad_tokens() -> dict[str, Any]:
    return {
        "no token": lambda: None,
        "wrong audience": lambda: EHR.token(PUBLIC_URL + "/cds-services/other"),
        "audience with a query": lambda: EHR.token(AUD + "?x=1"),
        "expired": lambda: EHR.token(AUD, lifetime=-600),
        "exp too far ahead": lambda: EHR.token(AUD, lifetime=3600),
        "no iat": lambda: EHR.token(AUD, iat=None),
        "no jti": lambda: EHR.token(AUD, jti=None),
        "unknown iss": lambda: STRANGER.token(AUD),
        "unknown kid": lambda: EHR.token(AUD, header={"kid": "not-a-key"}),
        "no kid": lambda: EHR.token(AUD, header={"kid": None}),
        "typ not JWT": lambda: EHR.token(AUD, header={"typ": "at+jwt"}),
        "alg none": lambda: EHR.unsigned_token(AUD),
        "alg HS256": lambda: EHR.hmac_token(AUD),
        "signed by another key": lambda: CdsClient(EHR.iss, es384_key("ehr-es-1"), "ES384").token(
            AUD
        ),
        "jku not configured": lambda: EHR.token(
            AUD, header={"jku": "https://ehr.example.org/jwks"}
        ),
        "not a JWT": lambda: "not-a-jwt",
    }


@pytest.mark.parametrize("case", sorted(_bad_tokens()))
async def test_a_bad_jwt_is_401(h: Harness, case: str) -> None:
    body, value = _person()
    await h.submit(body)
    response = await _call(h, _view(value), _bad_tokens()[case]())
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "cards" not in response.json()


async def test_a_jti_is_never_accepted_twice(h: Harness) -> None:
    token = EHR.token(AUD)
    assert (await _call(h, patient_view(None), token)).status_code == 200
    replay = await _call(h, patient_view(None), token)
    assert replay.status_code == 401
    assert "jti" in replay.json()["issue"][0]["diagnostics"]


async def test_an_unknown_service_is_404_and_a_bad_body_400(h: Harness) -> None:
    other = PUBLIC_URL + "/cds-services/other"
    assert (
        await _call(h, patient_view(None), EHR.token(other), "/cds-services/other")
    ).status_code == 404
    bad = await _call(h, {"hook": "order-sign", "context": {}}, EHR.token(AUD))
    assert bad.status_code == 400
    expressions = [e for i in bad.json()["issue"] for e in i.get("expression", [])]
    assert "hook" in expressions and "hookInstance" in expressions


async def _shown_card(h: Harness) -> tuple[str, str]:
    body, value = _person()
    referral_id = (await h.submit(body)).json()["referral_id"]
    [card] = (await _call(h, _view(value), EHR.token(AUD))).json()["cards"]
    return referral_id, card["uuid"]


FEEDBACK_AUD = AUD + "/feedback"


async def test_feedback_is_stored_with_the_model_version_and_the_reason(h: Harness) -> None:
    referral_id, card = await _shown_card(h)
    accepted = {"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-11-27T12:00:00Z"}
    overridden = {
        "card": card,
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-27T12:05:00Z",
        "overrideReason": {
            "reason": {
                "system": "urn:referral-gateway:cds-override-reason",
                "code": "risk-disagree",
                "display": "I disagree with the AI model's risk level",
            },
            "userComment": "Free text about the person",
        },
    }
    for item in (accepted, overridden):
        response = await _call(
            h, {"feedback": [item]}, EHR.token(FEEDBACK_AUD), SERVICE_PATH + "/feedback"
        )
        assert response.status_code == 200, response.text
    async with h.gateway.engine.connect() as conn:
        rows = (await conn.execute(select(cds_feedback).order_by(cds_feedback.c.id))).all()
        latest = await load_cds_feedback(conn, [referral_id])
    assert [(r.outcome, r.model_name, r.model_version, r.referral_id) for r in rows] == [
        ("accepted", "example-triage", "2.3.1", referral_id),
        ("overridden", "example-triage", "2.3.1", referral_id),
    ]
    assert rows[0].override_reason is None
    assert "risk-disagree" in rows[1].override_reason
    assert "Free text" not in rows[1].override_reason
    assert latest == [(referral_id, "overridden")]


async def test_feedback_on_a_card_never_issued_is_400_and_stores_nothing(h: Harness) -> None:
    _, card = await _shown_card(h)
    items = [
        {"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-11-27T12:00:00Z"},
        {
            "card": str(uuid.uuid4()),
            "outcome": "accepted",
            "outcomeTimestamp": "2026-11-27T12:00:00Z",
        },
    ]
    response = await _call(
        h, {"feedback": items}, EHR.token(FEEDBACK_AUD), SERVICE_PATH + "/feedback"
    )
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["feedback[1].card"]
    # a card shown to one EHR is not another EHR's to give feedback on
    other = await _call(
        h, {"feedback": items[:1]}, RS_EHR.token(FEEDBACK_AUD), SERVICE_PATH + "/feedback"
    )
    assert other.status_code == 400
    async with h.gateway.engine.connect() as conn:
        assert (await conn.execute(select(cds_feedback))).all() == []


async def test_feedback_needs_a_jwt_for_the_feedback_url(h: Harness) -> None:
    _, card = await _shown_card(h)
    item = {"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-11-27T12:00:00Z"}
    for token in (None, EHR.token(AUD)):
        response = await _call(h, {"feedback": [item]}, token, SERVICE_PATH + "/feedback")
        assert response.status_code == 401


SANDBOX = "https://sandbox.cds-hooks.org"


async def test_cors_answers_only_the_configured_browser_origins(tmp_path: Path) -> None:
    def config(keys: dict[str, ECKey]) -> dict[str, Any]:
        return base_config(
            keys, cds_clients=[{"iss": EHR.iss, "jwks": EHR.jwks, "origins": [SANDBOX]}]
        )

    async with running_gateway(tmp_path, config=config) as h:
        ask = {"Origin": SANDBOX, "Access-Control-Request-Method": "POST"}
        preflight = await h.client.options(SERVICE_PATH, headers=ask)
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == SANDBOX
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        stranger = await h.client.options(SERVICE_PATH, headers={**ask, "Origin": "https://x.test"})
        assert stranger.status_code == 403
        assert "access-control-allow-origin" not in stranger.headers
        discovery = await h.client.get("/cds-services", headers={"Origin": SANDBOX})
        assert discovery.headers["access-control-allow-origin"] == SANDBOX
        refused = await h.client.post(SERVICE_PATH, json={}, headers={"Origin": SANDBOX})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == SANDBOX


async def test_long_jtis_are_told_apart_and_never_replayed(h: Harness) -> None:
    prefix = "j" * 300
    first, second = EHR.token(AUD, jti=prefix + "1"), EHR.token(AUD, jti=prefix + "2")
    assert (await _call(h, patient_view(None), first)).status_code == 200
    assert (await _call(h, patient_view(None), second)).status_code == 200
    assert (await _call(h, patient_view(None), first)).status_code == 401


async def test_a_prefetch_satisfied_by_a_search_bundle_is_read_too(h: Harness) -> None:
    body, value = _person()
    await h.submit(body)
    patient = {
        "resourceType": "Patient",
        "id": "ehr-patient-1",
        "identifier": [{"system": SYSTEM, "value": value}],
    }
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": patient}]}
    response = await _call(h, patient_view(bundle), EHR.token(AUD))
    assert response.status_code == 200
    assert len(response.json()["cards"]) == 1


async def test_a_prefetched_patient_other_than_the_context_one_is_refused(h: Harness) -> None:
    body, value = _person()
    await h.submit(body)
    view = _view(value)
    view["prefetch"]["patient"]["id"] = "someone-else"
    response = await _call(h, view, EHR.token(AUD))
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["prefetch.patient.id"]


async def test_feedback_is_counted_per_model_version_in_the_transparency_report(
    h: Harness,
) -> None:
    """CONTRACT.md v1.1: CDS feedback is counted per model version (``cds_feedback``)."""
    _, card = await _shown_card(h)
    item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-27T12:05:00Z"}
    response = await _call(
        h, {"feedback": [item]}, EHR.token(FEEDBACK_AUD), SERVICE_PATH + "/feedback"
    )
    assert response.status_code == 200, response.text
    today = h.gateway.clock().date().isoformat()
    report = await h.get("/transparency/report", "operator", **{"from": today, "to": today})
    assert report.status_code == 200, report.text
    [model] = [
        m
        for m in report.json()["models"]
        if (m["name"], m["version"]) == ("example-triage", "2.3.1")
    ]
    assert model["cds_feedback"] == {"accepted": 0, "overridden": 1}
