"""The crisis notification: thin, signed, stable id, and escalation webhooks."""

from __future__ import annotations

import json

import httpx
import pytest
from connector_bundles import ANSWER_CANARY, referral_bundle

from connectors.base import Delivery, PermanentDeliveryError, TransientDeliveryError
from connectors.crisis import (
    CRISIS_EVENT,
    ESCALATION_EVENT,
    CrisisConnector,
    EscalationContact,
    EscalationNotifier,
    crisis_payload,
)
from connectors.webhooks import verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LINKS = {
    "referral": "https://gw.example.org/referrals/ref-1",
    "acknowledge": "https://gw.example.org/referrals/ref-1/acknowledge",
}


def crisis_delivery(attempt: int = 1) -> Delivery:
    return Delivery(
        delivery_id="dlv_ref-1_crisis-line",
        referral_id="ref-1",
        destination="crisis-line",
        bundle=referral_bundle(),
        attempt=attempt,
        summary={"risk_level": "imminent", "urgency": "stat", "links": LINKS,
                 "accepted_at": "2026-11-27T12:00:00Z"},
    )


class Receiver:
    def __init__(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.statuses = list(statuses)
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0), headers=self.headers)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def test_payload_carries_what_a_responder_needs() -> None:
    payload = crisis_payload(crisis_delivery(), now=0)
    assert payload == {
        "type": CRISIS_EVENT,
        "timestamp": "2026-11-27T12:00:00Z",
        "data": {
            "referral_id": "ref-1",
            "risk": {
                "level": "imminent",
                "qualitative_risk": "high",
                "rationale": "Reports a plan and access to means.",
            },
            "urgency": "stat",
            "person": {
                "name": "Alex Rivera",
                "preferred_language": "es",
                "telecom": [
                    {"system": "phone", "value": "+1-503-555-0100", "use": "mobile"},
                    {"system": "email", "value": "alex@example.org"},
                ],
            },
            "links": LINKS,
        },
    }


def test_payload_has_no_answers_birth_date_or_address() -> None:
    text = json.dumps(crisis_payload(crisis_delivery(), now=0))
    for leaked in (ANSWER_CANARY, "QuestionnaireResponse", "1990-01-01", "97201", "Portland"):
        assert leaked not in text


def test_payload_falls_back_to_service_request_priority_and_attempt_time() -> None:
    delivery = Delivery("d1", "ref-1", "crisis-line", referral_bundle(), summary={})
    payload = crisis_payload(delivery, now=1_800_000_000)
    assert payload["timestamp"] == "2027-01-15T08:00:00Z"
    assert payload["data"]["urgency"] == "stat"
    assert payload["data"]["risk"] == {
        "qualitative_risk": "high",
        "rationale": "Reports a plan and access to means.",
    }


def test_payload_for_a_bundle_without_a_patient_is_still_sent() -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    delivery = Delivery("d1", "ref-1", "crisis-line", bundle, summary={"links": LINKS})
    data = crisis_payload(delivery, now=0)["data"]
    assert data == {"referral_id": "ref-1", "risk": {}, "person": {}, "links": LINKS}


async def test_notification_is_signed_with_the_delivery_id_across_retries() -> None:
    receiver = Receiver(503, 200)
    ticks = iter([1_800_000_000.0 + step for step in range(10)])
    connector = CrisisConnector("https://crisis.example.org/hook", SECRET, receiver.client(),
                                clock=lambda: next(ticks))
    with pytest.raises(TransientDeliveryError):
        await connector.deliver(crisis_delivery(attempt=1))
    receipt = await connector.deliver(crisis_delivery(attempt=2))
    assert receipt.status_code == 200
    for request in receiver.requests:
        assert request.headers["webhook-id"] == "dlv_ref-1_crisis-line"
        verify(SECRET, request.headers, request.content,
               now=int(request.headers["webhook-timestamp"]))
    assert receiver.requests[0].content == receiver.requests[1].content
    assert ANSWER_CANARY.encode() not in receiver.requests[1].content


async def test_crisis_service_rejection_is_permanent() -> None:
    connector = CrisisConnector("https://crisis.example.org/hook", SECRET,
                                Receiver(400).client())
    with pytest.raises(PermanentDeliveryError, match="crisis service answered 400"):
        await connector.deliver(crisis_delivery())


async def test_crisis_service_rate_limit_is_transient_with_retry_after() -> None:
    receiver = Receiver(429, headers={"retry-after": "5"})
    connector = CrisisConnector("https://crisis.example.org/hook", SECRET, receiver.client())
    with pytest.raises(TransientDeliveryError) as caught:
        await connector.deliver(crisis_delivery())
    assert caught.value.retry_after == 5


async def test_escalation_is_signed_and_says_step_and_waiting_time() -> None:
    receiver = Receiver(202)
    notifier = EscalationNotifier(SECRET, receiver.client(), clock=lambda: 1_800_000_000.0)
    contact = EscalationContact(name="on-call clinician", url="https://oncall.example.org/page")
    receipt = await notifier.notify(
        contact,
        message_id="esc_ref-1_1",
        referral_id="ref-1",
        step=1,
        unacknowledged_seconds=312.7,
        links=LINKS,
    )
    assert receipt.status_code == 202
    (request,) = receiver.requests
    assert str(request.url) == "https://oncall.example.org/page"
    assert request.headers["webhook-id"] == "esc_ref-1_1"
    verify(SECRET, request.headers, request.content, now=1_800_000_000)
    assert json.loads(request.content) == {
        "type": ESCALATION_EVENT,
        "timestamp": "2027-01-15T08:00:00Z",
        "data": {
            "referral_id": "ref-1",
            "step": 1,
            "contact": "on-call clinician",
            "unacknowledged_seconds": 312,
            "links": LINKS,
        },
    }


async def test_escalation_failure_names_the_contact() -> None:
    notifier = EscalationNotifier(SECRET, Receiver(500).client())
    contact = EscalationContact(name="duty manager", url="https://duty.example.org/")
    with pytest.raises(TransientDeliveryError, match="duty manager"):
        await notifier.notify(contact, message_id="esc_1", referral_id="ref-1", step=2,
                              unacknowledged_seconds=900)
