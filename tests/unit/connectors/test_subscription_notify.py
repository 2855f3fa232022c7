"""Subscription notifications out through a connector: channel headers, error mapping."""

from __future__ import annotations

import json

import httpx
import pytest

from connectors.base import PermanentDeliveryError, TransientDeliveryError
from connectors.http_errors import EndpointGone
from connectors.subscription_notify import SubscriptionNotifier, channel_headers

ENDPOINT = "https://clinic.example.org/notify"


def test_channel_header_strings_become_http_headers() -> None:
    headers = channel_headers(["Authorization: Bearer abc", "X-Odd:  spaced  "])
    assert headers == {
        "Content-Type": "application/fhir+json",
        "Authorization": "Bearer abc",
        "X-Odd": "spaced",
    }


async def test_the_bundle_is_posted_once_as_fhir_json() -> None:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    notifier = SubscriptionNotifier(httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    receipt = await notifier.send(ENDPOINT, {"resourceType": "Bundle"}, ["X-Key: 1"], what="sub")
    assert receipt.status_code == 200
    assert len(requests) == 1 and json.loads(requests[0].content) == {"resourceType": "Bundle"}
    assert requests[0].headers["x-key"] == "1"
    assert requests[0].headers["content-type"] == "application/fhir+json"


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, TransientDeliveryError), (410, EndpointGone), (400, PermanentDeliveryError)],
)
async def test_failures_are_delivery_errors(status: int, error: type[Exception]) -> None:
    notifier = SubscriptionNotifier(
        httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: httpx.Response(status)))
    )
    with pytest.raises(error):
        await notifier.send(ENDPOINT, {}, [], what="sub")


async def test_no_answer_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    notifier = SubscriptionNotifier(httpx.AsyncClient(transport=httpx.MockTransport(refuse)))
    with pytest.raises(TransientDeliveryError, match="timed out"):
        await notifier.send(ENDPOINT, {}, [], what="sub")
