"""Open Referral Human Services Data Specification (HSDS) 3.0 API client.

Specification: openreferral/specification, ``schema/openapi.json`` (paths
``/services`` and ``/services/{id}``, components ``Page`` and the ``postcode``
and ``proximity`` parameters) and ``schema/compiled/service.json``.

- ``GET /services`` takes ``search``, ``page``, ``per_page``,
  ``taxonomy_term_id``, ``organization_id``, ``postcode`` and ``proximity``
  (metres from the centroid of the postcode) and answers a page:
  ``total_items``, ``total_pages``, ``page_number``, ``size``, ``first_page``,
  ``last_page``, ``empty``, ``contents``.
- ``GET /services/{id}`` answers the fully nested service (organization,
  phones, contacts with their phones, service_at_locations).

HTTP failures are reported as ``connectors.base`` delivery errors, because the
only caller is a connector: an unreachable or failing directory is transient,
a refused request permanent (see ``connectors.http_errors``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.base import TransientDeliveryError
from connectors.http_errors import delivery_error_for, delivery_error_from_transport

DIRECTORY = "HSDS directory"


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Organization:
    id: str
    name: str


@dataclass(frozen=True)
class Service:
    """The parts of an HSDS service a referral needs."""

    id: str
    name: str
    status: str
    organization_id: str | None = None
    organization: Organization | None = None
    email: str | None = None
    url: str | None = None
    phones: tuple[str, ...] = ()
    location_ids: tuple[str, ...] = ()

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Service:
        """Read a ``service`` object (list item or fully nested); unknown fields ignored."""
        if not data.get("id") or not data.get("name"):
            raise ValueError("an HSDS service needs 'id' and 'name'")
        organization_data = data.get("organization") or {}
        organization = None
        if organization_data.get("id") and organization_data.get("name"):
            organization = Organization(
                str(organization_data["id"]), str(organization_data["name"])
            )
        organization_id = _text(data.get("organization_id")) or _text(organization_data.get("id"))
        phones = [*data.get("phones", [])]
        for contact in data.get("contacts", []):
            phones.extend(contact.get("phones", []))
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            status=str(data.get("status", "")),
            organization_id=organization_id,
            organization=organization,
            email=_text(data.get("email")),
            url=_text(data.get("url")),
            phones=tuple(dict.fromkeys(str(p["number"]) for p in phones if p.get("number"))),
            location_ids=tuple(
                str(link["location_id"])
                for link in data.get("service_at_locations", [])
                if link.get("location_id")
            ),
        )


@dataclass(frozen=True)
class ServicePage:
    """One ``Page`` of ``/services``."""

    contents: tuple[Service, ...]
    page_number: int
    is_last: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, requested_page: int) -> ServicePage:
        contents = tuple(Service.from_json(item) for item in data.get("contents") or [])
        page_number = int(data.get("page_number") or requested_page)
        total_pages = data.get("total_pages")
        is_last = (
            bool(data.get("empty"))
            or bool(data.get("last_page"))
            or not contents
            or (total_pages is not None and page_number >= int(total_pages))
        )
        return cls(contents=contents, page_number=page_number, is_last=is_last)


def choose_service(services: Iterable[Service], *, exclude: Sequence[str] = ()) -> Service | None:
    """The first active service in the directory's order, skipping ids in ``exclude``.

    The directory orders results (by distance when a postcode is given); keeping
    its order makes the choice deterministic and explainable.
    """
    return next(
        (service for service in services if service.is_active and service.id not in exclude),
        None,
    )


@contextmanager
def _malformed_is_transient() -> Iterator[None]:
    try:
        yield
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        reason = f"{DIRECTORY} answered with malformed data ({exc})"
        raise TransientDeliveryError(reason) from exc


class HsdsClient:
    """Reads services from one HSDS 3.0 API, given its base URL."""

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._clock = clock

    async def aclose(self) -> None:
        await self._client.aclose()

    async def find_services(
        self,
        *,
        taxonomy_term_id: str | None = None,
        postcode: str | None = None,
        proximity: int | None = None,
        organization_id: str | None = None,
        search: str | None = None,
        per_page: int = 50,
        max_pages: int = 10,
    ) -> list[Service]:
        """Services matching the filters, following pagination for at most ``max_pages``."""
        filters = {
            "taxonomy_term_id": taxonomy_term_id,
            "postcode": postcode,
            "proximity": proximity,
            "organization_id": organization_id,
            "search": search,
        }
        params: dict[str, str | int] = {k: v for k, v in filters.items() if v is not None}
        services: list[Service] = []
        for page in range(1, max_pages + 1):
            query = {**params, "page": page, "per_page": per_page}
            body = await self._get_json("/services", query)
            with _malformed_is_transient():
                parsed = ServicePage.from_json(body, requested_page=page)
            services.extend(parsed.contents)
            if parsed.is_last:
                break
        return services

    async def get_service(self, service_id: str) -> Service:
        """The fully nested service ``service_id``."""
        body = await self._get_json(f"/services/{service_id}", {})
        with _malformed_is_transient():
            return Service.from_json(body)

    async def _get_json(self, path: str, params: Mapping[str, str | int]) -> Mapping[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = await self._client.get(
                url, params=params, headers={"accept": "application/json"}, follow_redirects=False
            )
        except httpx.TransportError as exc:
            raise delivery_error_from_transport(exc, what=DIRECTORY) from exc
        error = delivery_error_for(response, what=DIRECTORY, now=self._clock())
        if error is not None:
            raise error
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientDeliveryError(f"{DIRECTORY} answered {path} with invalid JSON") from exc
        if not isinstance(body, Mapping):
            raise TransientDeliveryError(f"{DIRECTORY} answered {path} with a non-object")
        return body
