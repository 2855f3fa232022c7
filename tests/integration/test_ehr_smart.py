"""The gateway as a SMART Backend Services client of a real EHR (sekmet-fhir with
``server_auth: {types: [smart]}`` and the gateway's public key registered)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import running_gateway
from sekmet import (
    Ehr,
    ehr_destination,
    identifier_query,
    new_rsa_key_pem,
    routed_to_ehr,
    unique_triage,
)
from sqlalchemy import select

from gateway.store.tables import deliveries, delivery_attempts, referrals

pytestmark = pytest.mark.integration


async def test_delivers_with_smart_auth_on(tmp_path: Path, smart_ehr: Ehr) -> None:
    body = unique_triage("minimal-patient")
    async with running_gateway(tmp_path, config=routed_to_ehr(ehr_destination(smart_ehr))) as h:
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        assert await h.deliver_all() == 1
        view = (await h.get(response.headers["location"])).json()
    (delivery,) = view["deliveries"]
    assert delivery["status"] == "delivered", delivery
    patient = identifier_query(body["patient"]["identifiers"][0])
    assert len(smart_ehr.search("Patient", identifier=patient)) == 1


async def test_the_ehr_refuses_an_unknown_key_without_a_token(smart_ehr: Ehr) -> None:
    import httpx

    response = httpx.get(f"{smart_ehr.base_url}/Patient", timeout=10)
    assert response.status_code == 401


async def test_refused_key_keeps_the_referral_retries_and_records_why(
    tmp_path: Path, smart_ehr: Ehr
) -> None:
    impostor = tmp_path / "not-registered.pem"
    impostor.write_bytes(new_rsa_key_pem())
    destination: dict[str, Any] = ehr_destination(smart_ehr)
    destination["auth"] = {**destination["auth"], "private_key_file": str(impostor)}
    body = unique_triage("minimal-patient")
    async with running_gateway(tmp_path, config=routed_to_ehr(destination)) as h:
        response = await h.submit(body)
        assert response.status_code == 202
        referral_id = response.json()["referral_id"]
        assert await h.deliver_all() == 1
        async with h.gateway.engine.connect() as conn:
            delivery = (
                await conn.execute(
                    select(deliveries).where(deliveries.c.referral_id == referral_id)
                )
            ).one()
            referral = (
                await conn.execute(select(referrals).where(referrals.c.id == referral_id))
            ).one()
            attempts = (
                await conn.execute(
                    select(delivery_attempts).where(delivery_attempts.c.delivery_id == delivery.id)
                )
            ).all()
    assert delivery.status == "pending"  # kept for a retry, not dropped, not dead
    assert delivery.next_attempt_at is not None
    assert "invalid_client" in (delivery.last_error or "")
    assert referral.status == "accepted"
    assert [a.outcome for a in attempts] == ["transient"]
    assert "invalid_client" in (attempts[0].detail or "")
    patient = identifier_query(body["patient"]["identifiers"][0])
    assert smart_ehr.search("Patient", identifier=patient) == []
