"""Reading an EHR's Tasks for status sync (HL7 SDOH Clinical Care, "Checking Task status").

The gateway polls ``Task?_lastUpdated=gt...`` (following ``next`` links) or reads each
Task by id, and holds an R4 rest-hook Subscription where the server offers one
(http://hl7.org/fhir/R4/subscription.html). Every failure is a ``DeliveryError``
(``connectors.base``), mapped here from httpx's errors and the server's status codes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from connectors.base import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from connectors.capability import ServerCapabilities, read_capability
from connectors.http_errors import delivery_error_for, delivery_error_from_transport
from connectors.smart_backend import SmartBackendAuth

FHIR_JSON = "application/fhir+json"
MAX_PAGES = 20


@dataclass(frozen=True)
class SubscriptionAnswer:
    """The EHR's answer to a Subscription create: its id when it took it."""

    status_code: int
    remote_id: str | None


class EhrTaskReader:
    """One EHR's Tasks, read with the gateway's own credentials (``client``)."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client

    async def capabilities(self) -> ServerCapabilities:
        return read_capability(await self._get("metadata"))

    async def changed_since(self, since: str) -> list[dict[str, Any]]:
        """Tasks changed after ``since`` (a FHIR instant), every page up to ``MAX_PAGES``."""
        found: list[dict[str, Any]] = []
        page = await self._get("Task", params={"_lastUpdated": f"gt{since}", "_count": "100"})
        for _ in range(MAX_PAGES):
            found += [
                e["resource"]
                for e in page.get("entry") or []
                if (e.get("resource") or {}).get("resourceType") == "Task"
            ]
            following = [
                link["url"] for link in page.get("link") or [] if link.get("relation") == "next"
            ]
            if not following:
                break
            page = await self._get(following[0])
        return found

    async def read(self, task_id: str) -> dict[str, Any]:
        return await self._get(f"Task/{task_id}")

    async def create_subscription(self, subscription: dict[str, Any]) -> SubscriptionAnswer:
        """POST ``subscription``; a refusal is an answer, only no answer at all raises."""
        what = "Subscription create"
        response = await self._exchange(
            "POST",
            f"{self.base_url}/Subscription",
            what,
            content=orjson.dumps(subscription),
            headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
        )
        if response.status_code not in (200, 201):
            return SubscriptionAnswer(response.status_code, None)
        remote_id = str(_json(response, what).get("id", ""))
        return SubscriptionAnswer(response.status_code, remote_id)

    async def _get(self, path: str, params: Any = None) -> dict[str, Any]:
        url = path if path.startswith("http") else f"{self.base_url}/{path}"
        what = f"GET {path}"
        response = await self._exchange(
            "GET", url, what, params=params, headers={"Accept": FHIR_JSON}
        )
        if response.status_code != 200:
            error = delivery_error_for(response, what=what, now=time.time())
            raise error or PermanentDeliveryError(f"{what} answered {response.status_code}")
        return _json(response, what)

    async def _exchange(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """One request; no answer at all is mapped to the ``DeliveryError`` it means."""
        try:
            return await self.client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise delivery_error_from_transport(exc, what=what) from exc
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"{what}: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        if isinstance(self.client.auth, SmartBackendAuth):
            await self.client.auth.aclose()
        await self.client.aclose()


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise PermanentDeliveryError(f"{what}: the answer is not JSON") from exc
    if not isinstance(body, dict):
        raise PermanentDeliveryError(f"{what}: the answer is not a FHIR resource")
    return body


__all__ = ["DeliveryError", "EhrTaskReader", "SubscriptionAnswer"]
