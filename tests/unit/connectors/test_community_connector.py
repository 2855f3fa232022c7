"""Community delivery: directory lookup by postal code, recipient set, channel used."""

from __future__ import annotations

import json

import httpx
import pytest
from connector_bundles import ANSWER_CANARY, referral_bundle
from hsds_directory import BASE_URL, PEER_SERVICE, WALK_IN_SERVICE, FixtureDirectory

from connectors.base import Delivery, PermanentDeliveryError, TransientDeliveryError
from connectors.community import CommunityConnector, addressed_to, patient_postal_code
from connectors.hsds import HsdsClient, Service
from connectors.mock import MockConnector
from connectors.webhooks import WebhookConnector, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BOTH_PAGES = ("services_page_1.json", "services_page_2.json")
LINKS = {"referral": "https://gw.example.org/fhir/Task/t-1"}


def community_delivery(postal_code: str | None = "97201") -> Delivery:
    return Delivery(
        delivery_id="dlv_ref-1_community",
        referral_id="ref-1",
        destination="community-directory",
        bundle=referral_bundle(postal_code=postal_code),
        summary={"urgency": "routine", "links": LINKS},
    )


def resource(bundle: dict[str, object], resource_type: str) -> dict[str, object]:
    entries = bundle["entry"]
    assert isinstance(entries, list)
    return next(e["resource"] for e in entries if e["resource"]["resourceType"] == resource_type)


def connector(directory: FixtureDirectory, channel: MockConnector) -> CommunityConnector:
    return CommunityConnector(
        HsdsClient(BASE_URL, directory.client()),
        channel,
        taxonomy_term_id="mental-health-support",
        proximity=8000,
    )


async def test_searches_near_the_person_and_addresses_the_chosen_organisation() -> None:
    directory = FixtureDirectory("services_page_1.json", "services_page_2.json")
    channel = MockConnector()
    receipt = await connector(directory, channel).deliver(community_delivery())

    query = directory.requests[0].url.params
    assert (query["postcode"], query["proximity"], query["taxonomy_term_id"]) == (
        "97201", "8000", "mental-health-support"
    )
    (sent,) = channel.delivered
    task = resource(sent.bundle, "Task")
    assert task["owner"] == {
        "type": "Organization",
        "display": "Portland Peer Network",
        "identifier": {
            "system": f"{BASE_URL}/organizations",
            "value": "9a1f0c3e-2b4d-4e6f-8a7b-0000000000a2",
        },
    }
    assert resource(sent.bundle, "ServiceRequest")["performer"] == [
        {
            "type": "HealthcareService",
            "display": "Peer Support Line",
            "identifier": {"system": f"{BASE_URL}/services", "value": PEER_SERVICE},
        }
    ]
    assert sent.summary["recipient"] == task["owner"]
    assert sent.delivery_id == "dlv_ref-1_community"
    assert receipt.remote_ids == {
        "Task": "task-ref-1",
        "hsds:service": PEER_SERVICE,
        "hsds:service_name": "Peer Support Line",
        "hsds:organization": "9a1f0c3e-2b4d-4e6f-8a7b-0000000000a2",
        "hsds:organization_name": "Portland Peer Network",
    }
    assert sent.summary["service"] == {
        "service_id": PEER_SERVICE,
        "service_name": "Peer Support Line",
        "organization_id": "9a1f0c3e-2b4d-4e6f-8a7b-0000000000a2",
        "organization_name": "Portland Peer Network",
    }
    assert receipt.detail.startswith("sent to Portland Peer Network (Peer Support Line)")


async def test_the_original_bundle_is_left_untouched() -> None:
    delivery = community_delivery()
    before = json.dumps(delivery.bundle, sort_keys=True)
    await connector(FixtureDirectory(*BOTH_PAGES), MockConnector()).deliver(delivery)
    assert json.dumps(delivery.bundle, sort_keys=True) == before


async def test_service_without_nested_organisation_is_read_in_full() -> None:
    directory = FixtureDirectory("services_page_2.json")
    channel = MockConnector()
    await connector(directory, channel).deliver(community_delivery())
    assert directory.requests[-1].url.path == f"/hsds/services/{WALK_IN_SERVICE}"
    owner = resource(channel.delivered[0].bundle, "Task")["owner"]
    assert isinstance(owner, dict) and owner["display"] == "Northside Wellbeing Trust"


async def test_no_active_service_is_permanent_with_a_plain_reason() -> None:
    channel = MockConnector()
    with pytest.raises(PermanentDeliveryError, match="no active service") as caught:
        await connector(FixtureDirectory("services_closed_only.json"), channel).deliver(
            community_delivery()
        )
    assert "97201" not in caught.value.reason
    assert channel.attempts == []


async def test_no_postal_code_is_permanent_without_asking_the_directory() -> None:
    directory = FixtureDirectory(*BOTH_PAGES)
    with pytest.raises(PermanentDeliveryError, match="no postal code"):
        await connector(directory, MockConnector()).deliver(community_delivery(postal_code=None))
    assert directory.requests == []


async def test_directory_outage_is_transient() -> None:
    with pytest.raises(TransientDeliveryError):
        await connector(FixtureDirectory(status=502), MockConnector()).deliver(
            community_delivery()
        )


async def test_channel_errors_pass_through() -> None:
    channel = MockConnector(transient_failures=1)
    community = connector(FixtureDirectory(*BOTH_PAGES), channel)
    with pytest.raises(TransientDeliveryError):
        await community.deliver(community_delivery())
    await community.deliver(community_delivery())
    assert channel.delivered_ids() == {"dlv_ref-1_community": 1}


async def test_webhook_channel_sends_a_thin_signed_notification() -> None:
    received: list[httpx.Request] = []

    def organisation(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(202)

    channel = WebhookConnector(
        "https://peer.example.org/referrals",
        SECRET,
        httpx.AsyncClient(transport=httpx.MockTransport(organisation)),
        clock=lambda: 1_800_000_000.0,
    )
    community = CommunityConnector(
        HsdsClient(BASE_URL, FixtureDirectory(*BOTH_PAGES).client()), channel
    )
    receipt = await community.deliver(community_delivery())
    assert receipt.status_code == 202
    (request,) = received
    verify(SECRET, request.headers, request.content, now=1_800_000_000)
    assert request.headers["webhook-id"] == "dlv_ref-1_community"
    body = json.loads(request.content)
    assert body["type"] == "referral.created"
    assert body["data"]["referral_id"] == "ref-1"
    assert body["data"]["recipient"]["display"] == "Portland Peer Network"
    assert body["data"]["links"] == LINKS
    for leaked in (ANSWER_CANARY, "Rivera", "97201", "503-555-0100"):
        assert leaked not in request.content.decode()


def test_postal_code_prefers_the_home_address() -> None:
    bundle = {
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "address": [
                        {"use": "work", "postalCode": "10001"},
                        {"use": "home", "postalCode": "97201"},
                    ],
                }
            }
        ]
    }
    assert patient_postal_code(bundle) == "97201"
    assert patient_postal_code({"entry": []}) is None


def test_service_without_organisation_owns_the_task_itself() -> None:
    lone = Service(id="s1", name="Drop-in", status="active")
    routed = addressed_to(referral_bundle(), lone, BASE_URL)
    owner = resource(routed, "Task")["owner"]
    assert owner == {
        "type": "HealthcareService",
        "display": "Drop-in",
        "identifier": {"system": f"{BASE_URL}/services", "value": "s1"},
    }
