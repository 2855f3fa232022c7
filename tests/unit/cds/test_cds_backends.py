"""Cards issued, disclosures, feedback and the jti store on both database backends."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from cds_client import SERVICE_PATH, CdsClient, es384_key, patient_view
from harness import PUBLIC_URL, base_config, running_gateway, triage
from joserfc.jwk import ECKey

from gateway.cds.feedback import load_cds_feedback

EHR = CdsClient("https://ehr.example.org", es384_key("ehr-1"), "ES384")
AUD = PUBLIC_URL + SERVICE_PATH
SYSTEM = "https://app.example.org/patients"


def _config(keys: dict[str, ECKey]) -> dict[str, Any]:
    return base_config(keys, cds_clients=[{"iss": EHR.iss, "jwks": EHR.jwks}])


async def test_card_disclosure_and_feedback_round_trip(tmp_path: Path, database_url: str) -> None:
    async with running_gateway(tmp_path, database_url=database_url, config=_config) as h:
        value = f"p-{uuid.uuid4().hex[:8]}"
        body = triage("imminent-risk", triage_id=f"t-{value}")
        body["patient"]["identifiers"] = [{"system": SYSTEM, "value": value}]
        referral_id = (await h.submit(body)).json()["referral_id"]
        view = patient_view(identifiers=[{"system": SYSTEM, "value": value}])
        token = EHR.token(AUD)
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(2):  # the second is refused: the same jti
            shown = await h.client.post(SERVICE_PATH, json=view, headers=auth)
        assert shown.status_code == 401
        again = await h.client.post(
            SERVICE_PATH, json=view, headers={"Authorization": f"Bearer {EHR.token(AUD)}"}
        )
        [card] = again.json()["cards"]
        feedback = {
            "feedback": [
                {"card": card["uuid"], "outcome": o, "outcomeTimestamp": f"2026-11-27T12:0{i}:00Z"}
                for i, o in enumerate(["overridden", "accepted"])
            ]
        }
        response = await h.client.post(
            SERVICE_PATH + "/feedback",
            json=feedback,
            headers={"Authorization": f"Bearer {EHR.token(AUD + '/feedback')}"},
        )
        assert response.status_code == 200, response.text
        async with h.gateway.engine.connect() as conn:
            assert await load_cds_feedback(conn, [referral_id]) == [(referral_id, "accepted")]
            assert await load_cds_feedback(conn, []) == []
        disclosures = await h.get(f"/patients/{SYSTEM}|{value}/disclosures", client_id="operator")
        cds_rows = [
            row
            for row in disclosures.json()["disclosures"]
            if (row["recipient"] or {}).get("identifier", {}).get("value") == EHR.iss
        ]
        assert len(cds_rows) == 2  # shown twice; the replayed call showed nothing
        assert all(row["purpose"] == ["TREAT"] for row in cds_rows)
