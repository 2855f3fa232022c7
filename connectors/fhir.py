"""EHR destination: a FHIR R4 server reached over REST.

Posts the referral as a transaction Bundle (http://hl7.org/fhir/R4/http.html#transaction).
EHRs differ, so the connector reads the server's CapabilityStatement once and
adapts each entry (``adapt_bundle``) so that a replayed Bundle creates nothing new.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson

from connectors.base import (
    Connector,
    Delivery,
    DeliveryError,
    PermanentDeliveryError,
    Receipt,
    TransientDeliveryError,
)
from connectors.capability import ServerCapabilities, read_capability
from connectors.http_errors import delivery_error_for, delivery_error_from_transport
from connectors.smart_backend import SmartBackendAuth

FHIR_JSON = "application/fhir+json"


def adapt_bundle(bundle: dict[str, Any], abilities: ServerCapabilities) -> dict[str, Any]:
    """Make every entry idempotent on this server.

    Conditional create where the server supports it for the type; otherwise ``PUT
    Type/<uuid>`` with the entry's own deterministic uuid where the server allows
    client-assigned ids; otherwise a plain POST (the only case a replay can duplicate).
    """
    entries = []
    for entry in bundle.get("entry", []):
        rtype = entry["resource"]["resourceType"]
        conditional = "ifNoneExist" in entry.get("request", {})
        if conditional and rtype in abilities.conditional_create:
            entries.append(entry)
        elif rtype in abilities.update_create:
            local_id = entry["fullUrl"].removeprefix("urn:uuid:")
            entries.append(
                {
                    **entry,
                    "resource": {**entry["resource"], "id": local_id},
                    "request": {"method": "PUT", "url": f"{rtype}/{local_id}"},
                }
            )
        else:
            request = {k: v for k, v in entry.get("request", {}).items() if k != "ifNoneExist"}
            entries.append({**entry, "request": request})
    return {**bundle, "entry": entries}


def _remote_ids(response_bundle: dict[str, Any]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for entry in response_bundle.get("entry", []):
        location = (entry.get("response") or {}).get("location") or ""
        parts = location.split("/_history")[0].rstrip("/").split("/")
        if len(parts) >= 2:
            ids.setdefault(parts[-2], parts[-1])
    return ids


def _outcome_text(outcome: dict[str, Any] | None) -> str:
    if not outcome:
        return ""
    texts = [
        issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        for issue in outcome.get("issue", [])
    ]
    return "; ".join(t for t in texts if t)[:500]


class FhirConnector(Connector):
    """One EHR. ``client`` carries the outbound guard, timeouts and SMART auth."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self._abilities: ServerCapabilities | None = None
        self._reading = asyncio.Lock()

    async def _capabilities(self) -> ServerCapabilities:
        """The CapabilityStatement, read once (several deliveries at once wait for it)."""
        if self._abilities is not None:
            return self._abilities
        async with self._reading:
            if self._abilities is None:
                response = await self._send("GET", f"{self.base_url}/metadata")
                if response.status_code != 200:
                    raise self._error(response, "reading the CapabilityStatement")
                self._abilities = read_capability(response.json())
            return self._abilities

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.client.request(
                method, url, headers={"Accept": FHIR_JSON, "Content-Type": FHIR_JSON}, **kwargs
            )
        except httpx.TransportError as exc:
            raise delivery_error_from_transport(exc, what="the EHR") from None

    def _error(self, response: httpx.Response, doing: str) -> DeliveryError:
        error = delivery_error_for(response, what="the EHR", now=time.time())
        assert error is not None, "only called for a non-2xx answer"
        outcome: dict[str, Any] | None = None
        try:
            body = response.json()
            if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
                outcome = body
        except ValueError:
            pass
        reason = f"{error.reason} while {doing}"
        detail = _outcome_text(outcome)
        if detail:
            reason += f": {detail}"
        if isinstance(error, TransientDeliveryError):
            return TransientDeliveryError(reason, retry_after=error.retry_after)
        return PermanentDeliveryError(reason, outcome=outcome)

    async def deliver(self, delivery: Delivery) -> Receipt:
        bundle = adapt_bundle(delivery.bundle, await self._capabilities())
        response = await self._send("POST", self.base_url, content=orjson.dumps(bundle))
        if not 200 <= response.status_code < 300:
            raise self._error(response, "posting the referral")
        try:
            remote = _remote_ids(response.json())
        except ValueError:
            remote = {}
        return Receipt(remote_ids=remote, status_code=response.status_code, detail="accepted")

    async def aclose(self) -> None:
        if isinstance(self.client.auth, SmartBackendAuth):
            await self.client.auth.aclose()
        await self.client.aclose()
