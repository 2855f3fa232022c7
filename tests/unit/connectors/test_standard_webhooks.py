"""Standard Webhooks signing, verification and the sender's status handling."""

from __future__ import annotations

import email.utils
import json

import httpx
import pytest

from connectors.base import PermanentDeliveryError, TransientDeliveryError
from connectors.http_errors import EndpointGone
from connectors.outbound import OutboundPolicy, make_client
from connectors.webhooks import (
    WebhookSender,
    WebhookVerificationError,
    decode_secret,
    sign,
    verify,
    webhook_headers,
)

KAT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KAT_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
KAT_TIMESTAMP = 1614265330
KAT_BODY = b'{"test": 2432232314}'
KAT_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"


def test_known_answer_vector_of_the_specification() -> None:
    assert sign(KAT_SECRET, KAT_ID, KAT_TIMESTAMP, KAT_BODY) == KAT_SIGNATURE


def test_known_answer_vector_verifies() -> None:
    headers = {
        "webhook-id": KAT_ID,
        "webhook-timestamp": str(KAT_TIMESTAMP),
        "webhook-signature": KAT_SIGNATURE,
    }
    verify(KAT_SECRET, headers, KAT_BODY, now=KAT_TIMESTAMP + 10)


def good_headers(now: int = KAT_TIMESTAMP) -> dict[str, str]:
    return webhook_headers(KAT_SECRET, KAT_ID, KAT_BODY, now)


def test_header_names_are_matched_case_insensitively() -> None:
    headers = {name.upper(): value for name, value in good_headers().items()}
    verify(KAT_SECRET, headers, KAT_BODY, now=KAT_TIMESTAMP)
    verify(KAT_SECRET, httpx.Headers(good_headers()), KAT_BODY, now=KAT_TIMESTAMP)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(missing: str) -> None:
    headers = good_headers()
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=missing):
        verify(KAT_SECRET, headers, KAT_BODY, now=KAT_TIMESTAMP)


@pytest.mark.parametrize("offset", [-301, 301, 10_000])
def test_timestamp_outside_tolerance_is_refused(offset: int) -> None:
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(KAT_SECRET, good_headers(), KAT_BODY, now=KAT_TIMESTAMP + offset)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamp_at_the_edge_of_tolerance_is_accepted(offset: int) -> None:
    verify(KAT_SECRET, good_headers(), KAT_BODY, now=KAT_TIMESTAMP + offset)


def test_non_integer_timestamp_is_refused() -> None:
    headers = {**good_headers(), "webhook-timestamp": "soon"}
    with pytest.raises(WebhookVerificationError, match="integer"):
        verify(KAT_SECRET, headers, KAT_BODY, now=KAT_TIMESTAMP)


def test_tampered_body_id_or_timestamp_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(KAT_SECRET, good_headers(), KAT_BODY + b" ", now=KAT_TIMESTAMP)
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(KAT_SECRET, {**good_headers(), "webhook-id": "msg_other"}, KAT_BODY,
               now=KAT_TIMESTAMP)
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(KAT_SECRET, {**good_headers(), "webhook-timestamp": str(KAT_TIMESTAMP + 1)},
               KAT_BODY, now=KAT_TIMESTAMP)


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(WebhookVerificationError):
        verify(OTHER_SECRET, good_headers(), KAT_BODY, now=KAT_TIMESTAMP)


def test_any_of_several_signatures_may_match_and_other_versions_are_ignored() -> None:
    old = sign(OTHER_SECRET, KAT_ID, KAT_TIMESTAMP, KAT_BODY)
    value = f"v1a,{KAT_SIGNATURE[3:]} {old} {KAT_SIGNATURE}"
    verify(KAT_SECRET, {**good_headers(), "webhook-signature": value}, KAT_BODY,
           now=KAT_TIMESTAMP)
    only_wrong_version = f"v2,{KAT_SIGNATURE[3:]}"
    with pytest.raises(WebhookVerificationError):
        verify(KAT_SECRET, {**good_headers(), "webhook-signature": only_wrong_version},
               KAT_BODY, now=KAT_TIMESTAMP)


@pytest.mark.parametrize(
    "secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64", "whsec_c2hvcnQ="]
)
def test_malformed_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        decode_secret(secret)


def test_message_id_with_a_dot_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'\.'"):
        sign(KAT_SECRET, "msg.1", KAT_TIMESTAMP, KAT_BODY)


class Endpoint:
    """A webhook receiver behind httpx.MockTransport answering scripted responses."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 7
        return self.now


async def test_sender_signs_compact_json_and_keeps_the_id_across_attempts() -> None:
    endpoint = Endpoint(httpx.Response(503), httpx.Response(204))
    clock = Clock()
    sender = WebhookSender("https://app.example.org/hooks", KAT_SECRET, endpoint.client(),
                           clock=clock)
    with pytest.raises(TransientDeliveryError):
        await sender.send("msg_1", {"type": "referral.status", "data": {"id": "r1"}})
    receipt = await sender.send("msg_1", {"type": "referral.status", "data": {"id": "r1"}})
    assert receipt.status_code == 204
    first, second = endpoint.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "msg_1"
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert second.headers["content-type"] == "application/json"
    assert second.content == b'{"type":"referral.status","data":{"id":"r1"}}'
    for request in endpoint.requests:
        verify(KAT_SECRET, request.headers, request.content,
               now=int(request.headers["webhook-timestamp"]))
    assert json.loads(second.content)["data"] == {"id": "r1"}


async def test_410_means_the_endpoint_is_gone() -> None:
    sender = WebhookSender("https://a.example.org/h", KAT_SECRET,
                           Endpoint(httpx.Response(410)).client())
    with pytest.raises(EndpointGone) as caught:
        await sender.send("msg_1", {})
    assert caught.value.endpoint_gone is True
    assert isinstance(caught.value, PermanentDeliveryError)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_transient(status: int) -> None:
    sender = WebhookSender("https://a.example.org/h", KAT_SECRET,
                           Endpoint(httpx.Response(status)).client())
    with pytest.raises(TransientDeliveryError, match=str(status)):
        await sender.send("msg_1", {})


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_other_client_errors_are_permanent(status: int) -> None:
    sender = WebhookSender("https://a.example.org/h", KAT_SECRET,
                           Endpoint(httpx.Response(status)).client())
    with pytest.raises(PermanentDeliveryError) as caught:
        await sender.send("msg_1", {})
    assert not isinstance(caught.value, EndpointGone)


async def test_retry_after_seconds_is_honoured() -> None:
    endpoint = Endpoint(httpx.Response(429, headers={"retry-after": "30"}))
    sender = WebhookSender("https://a.example.org/h", KAT_SECRET, endpoint.client())
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.send("msg_1", {})
    assert caught.value.retry_after == 30


async def test_retry_after_http_date_is_honoured() -> None:
    clock = Clock()
    when = email.utils.formatdate(clock.now + 120 + 14, usegmt=True)
    endpoint = Endpoint(httpx.Response(503, headers={"retry-after": when}))
    sender = WebhookSender("https://a.example.org/h", KAT_SECRET, endpoint.client(), clock=clock)
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.send("msg_1", {})
    assert caught.value.retry_after == pytest.approx(120, abs=1)


async def test_redirect_is_a_permanent_failure_and_not_followed() -> None:
    endpoint = Endpoint(httpx.Response(301, headers={"location": "https://b.example.org/"}))
    sender = WebhookSender("https://a.example.org/h", KAT_SECRET, endpoint.client())
    with pytest.raises(PermanentDeliveryError, match="redirect"):
        await sender.send("msg_1", {})
    assert len(endpoint.requests) == 1


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.ReadError("reset")]
)
async def test_network_failures_are_transient(failure: httpx.TransportError) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise failure

    client = httpx.AsyncClient(transport=httpx.MockTransport(broken))
    sender = WebhookSender("https://a.example.org/h", KAT_SECRET, client)
    with pytest.raises(TransientDeliveryError):
        await sender.send("msg_1", {})


async def test_blocked_address_is_permanent() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["10.0.0.7"]

    client = make_client(OutboundPolicy(), total_timeout=5, resolver=resolve)
    sender = WebhookSender("https://internal.example.org/h", KAT_SECRET, client)
    with pytest.raises(PermanentDeliveryError, match="private"):
        await sender.send("msg_1", {})
    await client.aclose()


def test_sender_refuses_a_malformed_secret_at_construction() -> None:
    with pytest.raises(ValueError):
        WebhookSender("https://a.example.org/h", "whsec_short", httpx.AsyncClient())
