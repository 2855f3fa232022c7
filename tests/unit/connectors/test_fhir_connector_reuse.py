"""The EHR connector reads the CapabilityStatement once, also when several deliveries
start at once (docs/delivery.md, "Several at once"), and keeps its connections."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from connector_bundles import referral_bundle

from connectors.base import Delivery
from connectors.fhir import FhirConnector

CAPABILITY = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "kind": "instance",
    "fhirVersion": "4.0.1",
    "format": ["json"],
    "rest": [{"mode": "server", "interaction": [{"code": "transaction"}]}],
}


async def test_several_deliveries_at_once_read_the_capability_statement_once() -> None:
    calls: Counter[str] = Counter()

    async def answer(request: httpx.Request) -> httpx.Response:
        calls[f"{request.method} {request.url.path}"] += 1
        await asyncio.sleep(0.01)  # the others start while the first is still reading
        if request.url.path.endswith("/metadata"):
            return httpx.Response(200, json=CAPABILITY)
        return httpx.Response(
            200, json={"resourceType": "Bundle", "type": "transaction-response", "entry": []}
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    connector = FhirConnector("https://ehr.example.org/fhir", client)
    deliveries = [
        Delivery(
            delivery_id=f"d-{n}", referral_id=f"r-{n}", destination="ehr", bundle=referral_bundle()
        )
        for n in range(4)
    ]
    receipts = await asyncio.gather(*(connector.deliver(d) for d in deliveries))
    await connector.aclose()
    assert [r.status_code for r in receipts] == [200] * 4
    assert calls["GET /fhir/metadata"] == 1
    assert calls["POST /fhir"] == 4
