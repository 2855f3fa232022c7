"""Recipients can act on what they are sent (CONTRACT.md v1.1, "Recipients and the
notifications they get"): a community organisation's webhook notification names the HSDS
service and organisation and carries links it follows with its OWN token, to its Task
and to ``/referrals/{id}`` minimised to its category."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from harness import PUBLIC_URL, Harness, base_config, new_key, public_jwks, running_gateway, triage
from joserfc.jwk import ECKey

from connectors.community import CommunityConnector
from connectors.hsds import HsdsClient
from connectors.mock import MockConnector
from connectors.webhooks import WebhookConnector
from gateway.context import utc_now
from gateway.destination_members import set_member
from tests.unit.connectors.hsds_directory import BASE_URL, FixtureDirectory

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ORG_HOOK = "https://peer.example.org/referrals"
RECIPIENT_SCOPES = ["system/ServiceRequest.r", "system/Task.rs"]
NOTE = "Prefers evening calls; has a dog called Pepper."
RATIONALE = "Mood low for weeks, says the model in plain words."


def community_config(keys: dict[str, ECKey]) -> dict[str, Any]:
    for name in ("community-org", "late-org"):
        keys.setdefault(name, new_key(f"{name}-1"))
    config = base_config(keys)
    config["clients"] += [
        {"client_id": name, "jwks": public_jwks(keys[name]), "scopes": RECIPIENT_SCOPES}
        for name in ("community-org", "late-org")
    ]
    config["destinations"].append(
        {
            "name": "peer-network",
            "type": "community",
            "hsds_base_url": BASE_URL,
            "delivery": {"type": "webhook", "url": ORG_HOOK, "secret": SECRET},
            "clients": ["community-org"],
        }
    )
    for rule in config["routing"]:
        if rule["name"] == "community":
            rule["send_to"] = ["peer-network"]
    return config


def community_referral() -> dict[str, Any]:
    body = triage()
    body["assessments"][0]["answers"] = [1, 1, 0, 1, 0, 0, 1, 0, 0]  # item 9 = 0
    body["risk"] = {"level": "low", "confidence": 0.7, "rationale": RATIONALE, "signals": []}
    body["request"] = {"pathway": "community", "urgency": "routine", "note": NOTE}
    return body


class Organisation:
    """The community organisation's webhook endpoint."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(json.loads(request.content))
        return httpx.Response(202)


def connectors(org: Organisation) -> dict[str, Any]:
    channel = WebhookConnector(
        ORG_HOOK, SECRET, httpx.AsyncClient(transport=httpx.MockTransport(org))
    )
    directory = FixtureDirectory("services_page_1.json", "services_page_2.json")
    return {
        "inbox": MockConnector(),
        "community-inbox": MockConnector(),
        "crisis-desk": MockConnector(),
        "peer-network": CommunityConnector(HsdsClient(BASE_URL, directory.client()), channel),
    }


async def _follow(h: Harness, url: str, client_id: str) -> httpx.Response:
    assert url.startswith(PUBLIC_URL), url
    token = await h.token(client_id, " ".join(RECIPIENT_SCOPES))
    return await h.client.get(
        url.removeprefix(PUBLIC_URL), headers={"Authorization": f"Bearer {token}"}
    )


async def _delivered(h: Harness, org: Organisation) -> dict[str, Any]:
    response = await h.submit(community_referral())
    assert response.status_code == 202, response.text
    assert {r["destination"] for r in response.json()["routing"]} == {"peer-network"}
    await h.deliver_all()
    (notification,) = org.received
    return notification


async def test_the_notification_names_the_service_and_links_the_recipient_can_follow(
    tmp_path: Path,
) -> None:
    org = Organisation()
    async with running_gateway(tmp_path, config=community_config, connectors=connectors(org)) as h:
        data = (await _delivered(h, org))["data"]
        service = data["service"]
        assert service["service_id"] and service["service_name"]
        assert service["organization_id"] and service["organization_name"]
        assert set(data["links"]) >= {"referral", "task"}

        task = await _follow(h, data["links"]["task"], "community-org")
        assert task.status_code == 200, task.text
        assert task.json()["resourceType"] == "Task"

        view = await _follow(h, data["links"]["referral"], "community-org")
        assert view.status_code == 200, view.text
        shown = view.json()
        # What the organisation needs to act: who, how to reach them, what is asked for.
        assert shown["person"]["name"] == "Ana Ruiz"
        assert {"system": "phone", "value": "+1-555-0100"} in shown["person"]["telecom"]
        assert shown["service_requested"]
        assert shown["delivery"]["sent_to"]["service_id"] == service["service_id"]
        assert shown["links"]["Task"] == data["links"]["task"].removeprefix(PUBLIC_URL)
        # And nothing clinical: no rationale, no scores or answers, no free-text note.
        text = view.text
        for leaked in (
            RATIONALE,
            NOTE,
            "Observation",
            "QuestionnaireResponse",
            "RiskAssessment",
            "valueInteger",
            "explanation",
            "routing",
            "1990-04-02",
        ):
            assert leaked not in text, leaked  # fmt: skip


async def test_another_client_cannot_follow_the_links(tmp_path: Path) -> None:
    org = Organisation()
    async with running_gateway(tmp_path, config=community_config, connectors=connectors(org)) as h:
        data = (await _delivered(h, org))["data"]
        assert (await _follow(h, data["links"]["referral"], "late-org")).status_code == 404
        referral_id = data["referral_id"]
        assert (await h.get(f"/referrals/{referral_id}", client_id="app-b")).status_code == 404
        # The submitting app still sees the whole referral.
        mine = (await h.get(f"/referrals/{referral_id}")).json()
        assert "explanation" in mine


async def test_a_client_added_at_run_time_can_follow_them_without_a_restart(
    tmp_path: Path,
) -> None:
    org = Organisation()
    async with running_gateway(tmp_path, config=community_config, connectors=connectors(org)) as h:
        data = (await _delivered(h, org))["data"]
        link = data["links"]["referral"]
        assert (await _follow(h, link, "late-org")).status_code == 404
        async with h.gateway.engine.begin() as conn:  # what `gateway destinations add-client` does
            await set_member(conn, "peer-network", "late-org", member=True, now=utc_now())
            await set_member(conn, "peer-network", "community-org", member=False, now=utc_now())
        await _await_refresh()
        assert (await _follow(h, link, "late-org")).status_code == 200
        assert (await _follow(h, link, "community-org")).status_code == 404


async def _await_refresh() -> None:
    import asyncio

    await asyncio.sleep(1.1)  # membership is re-read at most once a second per process
