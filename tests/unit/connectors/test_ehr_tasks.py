"""The EHR Task reader for status sync: paging, and every failure a DeliveryError."""

from __future__ import annotations

import json

import httpx
import pytest

from connectors.base import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from connectors.ehr_tasks import EhrTaskReader

BASE = "https://ehr.example.org/fhir"


def reader(handler: httpx.MockTransport | None = None, **routes: httpx.Response) -> EhrTaskReader:
    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.path.removeprefix("/fhir/") + (
            "?" + request.url.query.decode() if request.url.query else ""
        )
        for prefix, response in routes.items():
            if key.startswith(prefix.replace("__", "/")):
                return response
        return httpx.Response(404)

    return EhrTaskReader(
        BASE + "/", httpx.AsyncClient(transport=handler or httpx.MockTransport(answer))
    )


def task(task_id: str) -> dict[str, object]:
    return {"resource": {"resourceType": "Task", "id": task_id}}


async def test_changed_since_follows_next_links_and_keeps_only_tasks() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if "page=2" in str(request.url):
            return httpx.Response(200, json={"entry": [task("b")]})
        return httpx.Response(
            200,
            json={
                "entry": [task("a"), {"resource": {"resourceType": "OperationOutcome"}}],
                "link": [{"relation": "next", "url": f"{BASE}/Task?page=2"}],
            },
        )

    found = await reader(httpx.MockTransport(answer)).changed_since("2026-01-01T00:00:00.000Z")
    assert [t["id"] for t in found] == ["a", "b"]
    assert seen[0].params["_lastUpdated"] == "gt2026-01-01T00:00:00.000Z"
    assert seen[0].path == "/fhir/Task"


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, TransientDeliveryError), (429, TransientDeliveryError), (401, PermanentDeliveryError)],
)
async def test_a_status_code_is_the_error_it_means(status: int, error: type[DeliveryError]) -> None:
    with pytest.raises(error) as caught:
        await reader(Task__r1=httpx.Response(status)).read("r1")
    assert str(status) in caught.value.reason


async def test_no_answer_and_no_json_are_delivery_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransientDeliveryError):
        await reader(httpx.MockTransport(refuse)).capabilities()
    with pytest.raises(PermanentDeliveryError, match="not JSON"):
        await reader(metadata=httpx.Response(200, content=b"<html>")).capabilities()


async def test_subscription_create_reports_a_refusal_as_an_answer() -> None:
    posted: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        assert request.headers["content-type"] == "application/fhir+json"
        return httpx.Response(201, json={"resourceType": "Subscription", "id": "s1"})

    made = await reader(httpx.MockTransport(answer)).create_subscription({"status": "requested"})
    assert (made.status_code, made.remote_id) == (201, "s1")
    assert posted == [{"status": "requested"}]
    refused = await reader(Subscription=httpx.Response(403)).create_subscription({})
    assert (refused.status_code, refused.remote_id) == (403, None)
