"""Risk-only referrals, app-reported safety signals, and deny-all consent
(CONTRACT.md v1.1, "Intake, made precise")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import running_gateway, triage

from mappings.signals import vocabulary

CONTRACT_SAFETY_SIGNALS = [
    "phq9-item9-positive",
    "cssrs-ideation",
    "cssrs-behavior",
    "self-harm-language",
    "harm-to-others-language",
]


def _quiet(**changes: Any) -> dict[str, Any]:
    """A referral no answer flags: PHQ-9 item 9 is 0, no signals, low risk."""
    body = triage(**changes)
    body["assessments"][0]["answers"] = [1, 1, 0, 1, 0, 0, 1, 0, 0]
    body["risk"] = {"level": "low", "signals": []}
    return body


def _routes(response: Any) -> dict[str, dict[str, Any]]:
    return {r["destination"]: r for r in response.json()["routing"]}


def test_the_contract_safety_signals_are_in_the_vocabulary_as_safety_signals() -> None:
    known = vocabulary()
    for code in CONTRACT_SAFETY_SIGNALS:
        assert known[code].safety, code
        assert known[code].meaning


async def test_a_quiet_referral_has_no_crisis_route(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        response = await h.submit(_quiet())
        assert response.status_code == 202, response.text
        assert "crisis-desk" not in _routes(response)


@pytest.mark.parametrize("signal", CONTRACT_SAFETY_SIGNALS)
async def test_an_app_reported_safety_signal_adds_the_crisis_route(
    tmp_path: Path, signal: str
) -> None:
    body = _quiet()
    body["risk"]["signals"] = [signal]
    async with running_gateway(tmp_path) as h:
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        crisis = _routes(response)["crisis-desk"]
        assert crisis["decision"] == "permit"
        assert signal in crisis["reason"]


async def test_a_non_safety_signal_adds_no_crisis_route(tmp_path: Path) -> None:
    informational = next(code for code, d in vocabulary().items() if not d.safety)
    body = _quiet()
    body["risk"]["signals"] = [informational]
    async with running_gateway(tmp_path) as h:
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        assert "crisis-desk" not in _routes(response)


async def test_a_risk_only_referral_is_accepted_and_delivered(tmp_path: Path) -> None:
    body = triage(assessments=[])
    body["risk"] = {"level": "high", "signals": ["self-harm-language"], "rationale": "words"}
    async with running_gateway(tmp_path) as h:
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        assert _routes(response)["crisis-desk"]["decision"] == "permit"
        await h.deliver_all()
        referral = (await h.get(f"/referrals/{response.json()['referral_id']}")).json()
        statuses = {d["destination"]: d["status"] for d in referral["deliveries"]}
        assert statuses["crisis-desk"] == "delivered", referral


async def test_a_deny_all_consent_is_valid_and_refuses_with_403(tmp_path: Path) -> None:
    body = triage()
    body["consent"]["share_with"] = []
    async with running_gateway(tmp_path) as h:
        response = await h.submit(body)
        assert response.status_code == 403, response.text
        assert response.json()["resourceType"] == "OperationOutcome"


async def test_a_deny_all_consent_still_reaches_the_crisis_route_for_imminent_risk(
    tmp_path: Path,
) -> None:
    body = triage()
    body["consent"]["share_with"] = []
    body["risk"]["level"] = "imminent"
    async with running_gateway(tmp_path) as h:
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        routes = _routes(response)
        assert routes["crisis-desk"]["decision"] == "permit"
        assert routes["crisis-desk"]["purpose"] == "ETREAT"
        assert routes["crisis-desk"].get("emergency") is True
        assert routes["inbox"]["decision"] == "deny"
