"""Crisis service: a thin, signed notification, and escalation when nobody answers.

There is no public API for a crisis line (REFERENCE.md, 988 Lifeline): the
hand-off is human. The gateway tells the crisis service, with a Standard
Webhooks-signed POST (``connectors.webhooks``), what a responder needs to act
and nothing more, and a person acknowledges through the gateway. Payload
structure follows Standard Webhooks "Payload structure" (``type``,
``timestamp``, ``data``) as a thin payload plus a link to the full referral.

What the notification carries (``CRISIS_EVENT``):

- ``referral_id`` and ``links`` (from ``Delivery.summary["links"]``, e.g. the
  referral and acknowledge URLs on the gateway);
- ``risk``: ``level`` (``summary["risk_level"]``), the RiskAssessment's
  ``qualitativeRisk`` code and ``rationale``;
- ``urgency`` (``summary["urgency"]``, else ServiceRequest.priority);
- ``person``: name, preferred language (Patient.communication) and telecom.

No questionnaire answers, scores, diagnoses or addresses. The event time is
``summary["accepted_at"]`` when given. The message id is the delivery id, so a
retry is recognisably the same message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.base import Connector, Delivery, Receipt
from connectors.webhooks import WebhookSender, event_time

CRISIS_EVENT = "referral.crisis"
ESCALATION_EVENT = "referral.crisis.escalation"


def _resources(bundle: dict[str, Any], resource_type: str) -> Iterator[dict[str, Any]]:
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == resource_type:
            yield resource


def _first(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(_resources(bundle, resource_type), {})


def _concept_code(concept: dict[str, Any] | None) -> str | None:
    if not concept:
        return None
    for coding in concept.get("coding", []):
        if coding.get("code"):
            return str(coding["code"])
    text = concept.get("text")
    return str(text) if text else None


def _person_name(patient: dict[str, Any]) -> str | None:
    for name in patient.get("name", []):
        if name.get("text"):
            return str(name["text"])
        parts = [*name.get("given", []), name.get("family")]
        joined = " ".join(str(part) for part in parts if part)
        if joined:
            return joined
    return None


def _preferred_language(patient: dict[str, Any]) -> str | None:
    communications = patient.get("communication", [])
    ordered = sorted(communications, key=lambda item: not item.get("preferred", False))
    for communication in ordered:
        code = _concept_code(communication.get("language"))
        if code:
            return code
    return None


def _telecom(patient: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {key: str(point[key]) for key in ("system", "value", "use") if point.get(key)}
        for point in patient.get("telecom", [])
        if point.get("value")
    ]


def _risk(bundle: dict[str, Any], risk_level: str | None) -> dict[str, Any]:
    predictions: list[dict[str, Any]] = _first(bundle, "RiskAssessment").get("prediction", [])
    prediction = predictions[0] if predictions else {}
    risk = {
        "level": risk_level,
        "qualitative_risk": _concept_code(prediction.get("qualitativeRisk")),
        "rationale": prediction.get("rationale"),
    }
    return {key: value for key, value in risk.items() if value is not None}


def crisis_payload(delivery: Delivery, *, now: float) -> dict[str, Any]:
    """The notification for ``delivery``.

    ``now`` (Unix time) stamps the event when ``summary["accepted_at"]`` is absent.
    """
    summary = delivery.summary
    urgency = summary.get("urgency") or _first(delivery.bundle, "ServiceRequest").get("priority")
    patient = _first(delivery.bundle, "Patient")
    person = {
        "name": _person_name(patient),
        "preferred_language": _preferred_language(patient),
        "telecom": _telecom(patient),
    }
    data = {
        "referral_id": delivery.referral_id,
        "risk": _risk(delivery.bundle, summary.get("risk_level")),
        "urgency": urgency,
        "person": {key: value for key, value in person.items() if value},
        "links": dict(summary.get("links", {})),
    }
    return {
        "type": CRISIS_EVENT,
        "timestamp": summary.get("accepted_at") or event_time(now),
        "data": {key: value for key, value in data.items() if value is not None},
    }


class CrisisConnector(Connector):
    """Notifies a crisis service; success means its endpoint took the message (2xx).

    Acknowledgement by a person is a separate step the worker waits for.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sender = WebhookSender(url, secret, client, clock=clock, what="crisis service")
        self._clock = clock

    async def aclose(self) -> None:
        await self._sender.aclose()

    async def deliver(self, delivery: Delivery) -> Receipt:
        payload = crisis_payload(delivery, now=self._clock())
        return await self._sender.send(delivery.delivery_id, payload)


@dataclass(frozen=True)
class EscalationMessage:
    """One escalation step for one unacknowledged crisis delivery."""

    message_id: str
    """Stable per step: a retried step is recognisably the same message."""
    referral_id: str
    step: int
    contact_name: str
    contact_url: str
    unacknowledged_seconds: float
    links: dict[str, str]


@dataclass(frozen=True)
class EscalationContact:
    """One ``escalation:`` step of a crisis destination (config ``name`` and ``webhook``)."""

    name: str
    url: str


def escalation_payload(
    *,
    referral_id: str,
    step: int,
    contact_name: str,
    unacknowledged_seconds: float,
    links: dict[str, str],
    now: float,
) -> dict[str, Any]:
    """The escalation message: which referral, which step, how long nobody acknowledged it."""
    return {
        "type": ESCALATION_EVENT,
        "timestamp": event_time(now),
        "data": {
            "referral_id": referral_id,
            "step": step,
            "contact": contact_name,
            "unacknowledged_seconds": int(unacknowledged_seconds),
            "links": dict(links),
        },
    }


class EscalationNotifier:
    """Sends signed escalation webhooks, with the crisis destination's secret."""

    def __init__(
        self,
        secret: str,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._client = client
        self._clock = clock

    async def notify(
        self,
        contact: EscalationContact,
        *,
        message_id: str,
        referral_id: str,
        step: int,
        unacknowledged_seconds: float,
        links: dict[str, str] | None = None,
    ) -> Receipt:
        """One attempt; ``message_id`` must be the same on retries of this step."""
        sender = WebhookSender(
            contact.url,
            self._secret,
            self._client,
            clock=self._clock,
            what=f"escalation contact {contact.name!r}",
        )
        payload = escalation_payload(
            referral_id=referral_id,
            step=step,
            contact_name=contact.name,
            unacknowledged_seconds=unacknowledged_seconds,
            links=links or {},
            now=self._clock(),
        )
        return await sender.send(message_id, payload)

    async def send(self, message: EscalationMessage) -> str:
        """Notify the message's contact once: a short receipt, or a ``DeliveryError``."""
        receipt = await self.notify(
            EscalationContact(name=message.contact_name, url=message.contact_url),
            message_id=message.message_id,
            referral_id=message.referral_id,
            step=message.step,
            unacknowledged_seconds=message.unacknowledged_seconds,
            links=message.links,
        )
        return receipt.detail

    async def aclose(self) -> None:
        await self._client.aclose()
