"""The crisis service follows the links in its notification with its own token (its
``client_id``): its Task, and ``/referrals/{id}`` minimised to the crisis category."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crisis_rig import crisis_config, imminent, mock_connectors
from harness import PUBLIC_URL, Harness, running_gateway
from joserfc.jwk import ECKey

from connectors.mock import MockConnector

SCOPES = "system/ServiceRequest.r system/Task.rs system/Task.u"


def config(keys: dict[str, ECKey]) -> dict[str, Any]:
    built = crisis_config(url=True, contacts=0)(keys)
    for client in built["clients"]:
        if client["client_id"] == "crisis-service":
            client["scopes"] = SCOPES.split()
    return built


async def _follow(h: Harness, url: str, client_id: str) -> Any:
    assert url.startswith(PUBLIC_URL), url
    token = await h.token(client_id, SCOPES if client_id == "crisis-service" else None)
    return await h.client.get(
        url.removeprefix(PUBLIC_URL), headers={"Authorization": f"Bearer {token}"}
    )


async def test_the_crisis_service_follows_its_links(tmp_path: Path) -> None:
    crisis = MockConnector()
    async with running_gateway(tmp_path, config=config, connectors=mock_connectors(crisis)) as h:
        response = await h.submit(imminent())
        assert response.status_code == 202, response.text
        await h.deliver_all()
        (sent,) = crisis.delivered
        links = sent.summary["links"]
        assert set(links) >= {"referral", "task"}

        task = await _follow(h, links["task"], "crisis-service")
        assert task.status_code == 200, task.text
        view = await _follow(h, links["referral"], "crisis-service")
        assert view.status_code == 200, view.text
        shown = view.json()
        assert shown["recipient"]["category"] == "crisis"
        assert shown["person"]["telecom"]
        types = {r["resourceType"] for r in shown["resources"]}
        # The crisis profile: who, the risk, the request; never the answers or scores.
        assert "RiskAssessment" in types
        assert not types & {"Observation", "QuestionnaireResponse", "Provenance", "Consent"}
        assert "explanation" not in shown
