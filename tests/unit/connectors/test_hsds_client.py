"""The HSDS 3.0 client: query parameters, pagination, parsing, choosing a service."""

from __future__ import annotations

import httpx
import pytest
from hsds_directory import BASE_URL, PEER_SERVICE, WALK_IN_SERVICE, FixtureDirectory, load

from connectors.base import PermanentDeliveryError, TransientDeliveryError
from connectors.hsds import HsdsClient, Organization, Service, ServicePage, choose_service


async def test_find_services_follows_pagination_and_sends_filters() -> None:
    directory = FixtureDirectory("services_page_1.json", "services_page_2.json")
    hsds = HsdsClient(BASE_URL + "/", directory.client())
    services = await hsds.find_services(
        taxonomy_term_id="mental-health", postcode="97201", proximity=5000, per_page=2
    )
    assert [service.name for service in services] == [
        "Eastside Counselling",
        "Peer Support Line",
        "Walk-in Wellbeing Clinic",
    ]
    first, second = directory.requests
    assert first.url.path == "/hsds/services"
    assert dict(first.url.params) == {
        "taxonomy_term_id": "mental-health",
        "postcode": "97201",
        "proximity": "5000",
        "page": "1",
        "per_page": "2",
    }
    assert second.url.params["page"] == "2"


async def test_max_pages_bounds_the_walk() -> None:
    directory = FixtureDirectory("services_page_1.json", "services_page_2.json")
    services = await HsdsClient(BASE_URL, directory.client()).find_services(max_pages=1)
    assert len(services) == 2
    assert len(directory.requests) == 1


async def test_empty_page_ends_the_walk() -> None:
    directory = FixtureDirectory("services_empty.json", "services_page_2.json")
    assert await HsdsClient(BASE_URL, directory.client()).find_services() == []
    assert len(directory.requests) == 1


async def test_get_service_reads_the_fully_nested_service() -> None:
    directory = FixtureDirectory()
    service = await HsdsClient(BASE_URL, directory.client()).get_service(WALK_IN_SERVICE)
    assert service == Service(
        id=WALK_IN_SERVICE,
        name="Walk-in Wellbeing Clinic",
        status="active",
        organization_id="9a1f0c3e-2b4d-4e6f-8a7b-0000000000a3",
        organization=Organization("9a1f0c3e-2b4d-4e6f-8a7b-0000000000a3",
                                  "Northside Wellbeing Trust"),
        phones=("503-555-0142", "503-555-0143"),
        location_ids=("loc-north-1",),
    )


async def test_directory_failures_map_to_delivery_errors() -> None:
    with pytest.raises(TransientDeliveryError, match="HSDS directory answered 503"):
        await HsdsClient(BASE_URL, FixtureDirectory(status=503).client()).find_services()
    with pytest.raises(PermanentDeliveryError, match="HSDS directory answered 404"):
        await HsdsClient(BASE_URL, FixtureDirectory().client()).get_service("unknown")


async def test_malformed_directory_answers_are_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "1":
            return httpx.Response(200, text="<html>maintenance</html>")
        return httpx.Response(200, json={"contents": [{"id": "no-name"}]})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with pytest.raises(TransientDeliveryError, match="invalid JSON"):
        await HsdsClient(BASE_URL, client).find_services()
    with pytest.raises(TransientDeliveryError, match="malformed"):
        await HsdsClient(BASE_URL, client).get_service("x")


def test_page_knows_when_it_is_the_last() -> None:
    assert not ServicePage.from_json(load("services_page_1.json"), requested_page=1).is_last
    assert ServicePage.from_json(load("services_page_2.json"), requested_page=2).is_last
    no_flags = {"total_pages": 3, "page_number": 3, "contents": [{"id": "a", "name": "A"}]}
    assert ServicePage.from_json(no_flags, requested_page=3).is_last


def service(service_id: str, status: str = "active") -> Service:
    return Service(id=service_id, name=service_id, status=status)


def test_choose_service_takes_the_first_active_in_directory_order() -> None:
    services = [service("a", "inactive"), service("b"), service("c")]
    assert choose_service(services) == service("b")
    assert choose_service(list(reversed(services))) == service("c")
    assert choose_service(services, exclude=["b"]) == service("c")
    assert choose_service([service("a", "defunct"), service("d", "temporarily closed")]) is None
    assert choose_service([]) is None


async def test_choose_from_fixture_directory_skips_the_closed_service() -> None:
    directory = FixtureDirectory("services_page_1.json", "services_page_2.json")
    chosen = choose_service(await HsdsClient(BASE_URL, directory.client()).find_services())
    assert chosen is not None and chosen.id == PEER_SERVICE
