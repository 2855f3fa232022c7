"""Delivery to a real FHIR R4 server (sekmet-fhir): lands once, replays harmlessly,
reads back intact, and the connector adapts to what the server says it can do."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import running_gateway
from sekmet import Ehr, ehr_destination, identifier_query, routed_to_ehr, unique_triage

from connectors.base import Connector, Delivery, PermanentDeliveryError, Receipt
from connectors.capability import ServerCapabilities, read_capability
from connectors.fhir import FhirConnector, adapt_bundle
from connectors.outbound import OutboundPolicy, make_client

pytestmark = pytest.mark.integration


class Recording(Connector):
    """Delegates to the real connector and keeps what was handed over."""

    def __init__(self, inner: Connector) -> None:
        self.inner = inner
        self.sent: list[Delivery] = []
        self.receipts: list[Receipt] = []

    async def deliver(self, delivery: Delivery) -> Receipt:
        self.sent.append(delivery)
        receipt = await self.inner.deliver(delivery)
        self.receipts.append(receipt)
        return receipt

    async def aclose(self) -> None:
        await self.inner.aclose()


def fhir_connector(base_url: str, total_timeout: float = 10.0) -> FhirConnector:
    policy = OutboundPolicy(allow_private_network=True)
    return FhirConnector(base_url, make_client(policy, total_timeout=total_timeout))


def entries_of(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def found_directly(
    ehr: Ehr, entry: dict[str, Any], able: ServerCapabilities
) -> dict[str, Any] | None:
    """The server's copy of a sent entry when it can be found without help: by identifier
    when the type was created conditionally, by the entry's own id when it was PUT."""
    resource = entry["resource"]
    resource_type = resource["resourceType"]
    condition = entry.get("request", {}).get("ifNoneExist")
    if condition and resource_type in able.conditional_create:
        found = ehr.search(resource_type, identifier=condition.split("=", 1)[1])
        assert len(found) == 1, (resource_type, condition, len(found))
        return found[0]
    if resource_type in able.update_create:
        return ehr.read(resource_type, entry["fullUrl"].removeprefix("urn:uuid:"))
    return None


def pair_references(sent: Any, stored: Any, into: dict[str, str]) -> None:
    """Walk a sent resource and the server's copy side by side, noting what each
    ``urn:uuid`` reference became on the server."""
    if isinstance(sent, dict) and isinstance(stored, dict):
        for key, value in sent.items():
            if key == "reference" and isinstance(value, str) and value.startswith("urn:uuid:"):
                into[value] = stored.get(key, "")
            elif key in stored:
                pair_references(value, stored[key], into)
    elif isinstance(sent, list) and isinstance(stored, list):
        for a, b in zip(sent, stored, strict=False):
            pair_references(a, b, into)


def server_copies(ehr: Ehr, bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """fullUrl -> the server's copy of every entry; entries the server took by plain POST
    (types it does not advertise) are found through the references to them."""
    able = abilities(ehr)
    copies = {
        e["fullUrl"]: found for e in bundle["entry"] if (found := found_directly(ehr, e, able))
    }
    sent = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    while len(copies) < len(sent):
        references: dict[str, str] = {}
        for full_url, stored in copies.items():
            pair_references(sent[full_url], stored, references)
        new = {u: ehr.resolve(references[u]) for u in sent if u not in copies and u in references}
        assert new, f"not found on the server: {sorted(set(sent) - set(copies))}"
        copies.update(new)
    return copies


def abilities(ehr: Ehr) -> ServerCapabilities:
    return read_capability(httpx.get(f"{ehr.base_url}/metadata").json())


def comparable(resource: dict[str, Any], references: dict[str, str]) -> dict[str, Any]:
    """``resource`` without server bookkeeping, its ``urn:uuid`` references replaced."""
    body = copy.deepcopy(resource)
    body.pop("id", None)
    meta = body.pop("meta", {})
    if meta.get("security"):
        body["meta.security"] = meta["security"]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: references.get(v, v) if k == "reference" and isinstance(v, str) else walk(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    result: dict[str, Any] = walk(body)
    return result


async def deliver_one(tmp_path: Path, ehr: Ehr, url: str) -> tuple[Recording, dict[str, Any]]:
    body = unique_triage()
    async with running_gateway(
        tmp_path, database_url=url, config=routed_to_ehr(ehr_destination(ehr))
    ) as h:
        recording = Recording(h.gateway.worker.connectors["county-ehr"])
        h.gateway.worker.connectors["county-ehr"] = recording
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        await h.deliver_all()
        view = (await h.get(response.headers["location"])).json()
    ehr_delivery = next(d for d in view["deliveries"] if d["destination"] == "county-ehr")
    assert ehr_delivery["status"] == "delivered", ehr_delivery
    assert len(recording.sent) == 1
    return recording, body


async def test_referral_lands_once_and_reads_back_intact(
    database_url: str, tmp_path: Path, ehr: Ehr
) -> None:
    recording, body = await deliver_one(tmp_path, ehr, database_url)
    sent = recording.sent[0].bundle

    patient_id = identifier_query(body["patient"]["identifiers"][0])
    assert len(ehr.search("Patient", identifier=patient_id)) == 1
    for resource_type in ("ServiceRequest", "Task"):
        (entry,) = entries_of(sent, resource_type)
        identifier = identifier_query(entry["resource"]["identifier"][0])
        assert len(ehr.search(resource_type, identifier=identifier)) == 1, resource_type

    on_server = server_copies(ehr, sent)
    references = {
        full_url: f"{r['resourceType']}/{r['id']}" for full_url, r in on_server.items()
    }
    for entry in sent["entry"]:
        stored = on_server[entry["fullUrl"]]
        assert comparable(stored, {}) == comparable(entry["resource"], references), (
            entry["resource"]["resourceType"]
        )
    # Every reference between the delivered resources resolves on the server.
    task = on_server[entries_of(sent, "Task")[0]["fullUrl"]]
    service_request = ehr.resolve(task["focus"]["reference"])
    assert service_request["resourceType"] == "ServiceRequest"
    assert ehr.resolve(task["for"]["reference"])["identifier"] == body["patient"]["identifiers"]
    for reason in service_request.get("reasonReference", []):
        assert ehr.resolve(reason["reference"])["resourceType"] in {"Observation", "RiskAssessment"}
    # The receipt names the server's own Task id.
    assert recording.receipts[0].remote_ids["Task"] == task["id"]


async def test_observation_codes_and_values_survive(tmp_path: Path, ehr: Ehr) -> None:
    recording, _ = await deliver_one(tmp_path, ehr, f"sqlite+aiosqlite:///{tmp_path}/g.db")
    sent = recording.sent[0].bundle
    totals = {
        e["resource"]["code"]["coding"][0]["code"]: e for e in entries_of(sent, "Observation")
    }
    copies = server_copies(ehr, sent)
    phq9 = copies[totals["44261-6"]["fullUrl"]]
    gad7 = copies[totals["70274-6"]["fullUrl"]]
    assert phq9["valueInteger"] == 11 and gad7["valueInteger"] == 7
    assert phq9["code"]["coding"][0]["system"] == "http://loinc.org"
    labels = {(s["system"], s["code"]) for s in phq9["meta"]["security"]}
    assert ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "PSY") in labels


async def test_replaying_a_delivered_bundle_creates_nothing_new(tmp_path: Path, ehr: Ehr) -> None:
    recording, body = await deliver_one(tmp_path, ehr, f"sqlite+aiosqlite:///{tmp_path}/g.db")
    delivery = recording.sent[0]
    connector = fhir_connector(ehr.base_url)
    try:
        again = await connector.deliver(delivery)
    finally:
        await connector.aclose()
    assert again.remote_ids["Task"] == recording.receipts[0].remote_ids["Task"]
    searchable = abilities(ehr).conditional_create
    for entry in delivery.bundle["entry"]:
        resource = entry["resource"]
        if resource.get("identifier") and resource["resourceType"] in searchable:
            found = ehr.search(
                resource["resourceType"], identifier=identifier_query(resource["identifier"][0])
            )
            assert len(found) == 1, resource["resourceType"]
    patient = identifier_query(body["patient"]["identifiers"][0])
    assert len(ehr.search("Patient", identifier=patient)) == 1


async def test_capability_statement_adaptation_matches_the_server(ehr: Ehr) -> None:
    capability = httpx.get(f"{ehr.base_url}/metadata").json()
    abilities = read_capability(capability)
    # sekmet searches these by identifier and creates conditionally ...
    assert {"Patient", "ServiceRequest", "Task", "Observation"} <= abilities.conditional_create
    # ... takes client-assigned ids on PUT for the types it lists without an identifier
    # search (Provenance) ...
    assert "Provenance" in abilities.update_create
    assert "Provenance" not in abilities.conditional_create
    # ... and does not list QuestionnaireResponse at all: that type goes as a plain POST,
    # never with an ifNoneExist the server would ignore.
    assert "QuestionnaireResponse" not in abilities.conditional_create | abilities.update_create
    entry = {
        "fullUrl": "urn:uuid:5f0e1f0a-3c1b-4d55-9a55-1b2f5e1c9d10",
        "resource": {"resourceType": "QuestionnaireResponse", "status": "completed"},
        "request": {"method": "POST", "url": "QuestionnaireResponse", "ifNoneExist": "x=y"},
    }
    adapted = adapt_bundle({"resourceType": "Bundle", "entry": [entry]}, abilities)
    assert adapted["entry"][0]["request"] == {"method": "POST", "url": "QuestionnaireResponse"}


async def test_invalid_resource_is_permanent_and_keeps_the_outcome(ehr: Ehr) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b0c6a55-8f0e-4d1f-9a41-0d9c2f1f6c11",
                "resource": {"resourceType": "Patient", "birthDate": "not a date"},
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    connector = fhir_connector(ehr.base_url)
    try:
        with pytest.raises(PermanentDeliveryError) as caught:
            await connector.deliver(Delivery("d-1", "r-1", "county-ehr", bundle))
    finally:
        await connector.aclose()
    assert "400" in caught.value.reason
    assert caught.value.outcome is not None
    assert caught.value.outcome["resourceType"] == "OperationOutcome"
    assert "birthDate" in caught.value.reason
