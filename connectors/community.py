"""Community services: find one in an HSDS 3.0 directory, then hand the referral over.

The directory is read with ``connectors.hsds.HsdsClient`` (``GET /services``
filtered by ``taxonomy_term_id``, the person's ``postcode`` and ``proximity``).
The chosen service's organisation becomes the recipient in the minimised
Bundle, following the HL7 SDOH Clinical Care referral pattern (the Task's
``owner`` is the organisation asked to act; the ServiceRequest's ``performer``
is the service requested):

- ``Task.owner``: ``{"type": "Organization", "display": <organization name>,
  "identifier": {"system": "<hsds_base_url>/organizations", "value": <organization id>}}``
  (when the directory names no organisation, the service itself, as
  ``HealthcareService``, is the owner);
- ``ServiceRequest.performer``: ``[{"type": "HealthcareService", "display":
  <service name>, "identifier": {"system": "<hsds_base_url>/services", "value":
  <service id>}}]``.

The identifier systems are the directory's own collection URLs, so the same
service found through two directories is not confused. The delivery then goes
through the configured channel, any ``Connector`` (signed webhook, FHIR
endpoint or the built-in inbox), with ``summary["recipient"]`` naming the choice and
``summary["service"]`` the HSDS ``service_id``/``service_name`` and organisation (which
a webhook notification carries; the receipt keeps them as ``hsds:*`` remote ids).
No active service found, or no postal code to search by, is a
``PermanentDeliveryError`` with a plain reason: a person has to find a place.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from connectors.base import Connector, Delivery, PermanentDeliveryError, Receipt
from connectors.hsds import HsdsClient, Service, choose_service


def patient_postal_code(bundle: dict[str, Any]) -> str | None:
    """The postal code of the person's home address (else any address) in ``bundle``."""
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "Patient":
            continue
        addresses = sorted(resource.get("address", []), key=lambda a: a.get("use") != "home")
        for address in addresses:
            if address.get("postalCode"):
                return str(address["postalCode"])
    return None


def recipient_references(service: Service, directory_url: str) -> dict[str, dict[str, Any]]:
    """The ``owner`` (Task) and ``performer`` (ServiceRequest) references for ``service``."""
    performer = {
        "type": "HealthcareService",
        "display": service.name,
        "identifier": {"system": f"{directory_url}/services", "value": service.id},
    }
    owner = performer
    if service.organization_id is not None:
        owner = {
            "type": "Organization",
            "display": service.organization.name if service.organization else service.name,
            "identifier": {
                "system": f"{directory_url}/organizations",
                "value": service.organization_id,
            },
        }
    return {"owner": owner, "performer": performer}


def service_named(service: Service) -> dict[str, str]:
    """The HSDS service and organisation a referral goes to, as the notification names
    them (CONTRACT.md v1.1: ``service_id``, ``service_name``, and the organisation)."""
    named = {"service_id": service.id, "service_name": service.name}
    if service.organization_id is not None:
        named["organization_id"] = service.organization_id
    if service.organization is not None:
        named["organization_name"] = service.organization.name
    return named


def addressed_to(bundle: dict[str, Any], service: Service, directory_url: str) -> dict[str, Any]:
    """A copy of ``bundle`` whose Task and ServiceRequest name ``service`` as recipient."""
    references = recipient_references(service, directory_url)
    routed = copy.deepcopy(bundle)
    for entry in routed.get("entry", []):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Task":
            resource["owner"] = references["owner"]
        elif resource.get("resourceType") == "ServiceRequest":
            resource["performer"] = [references["performer"]]
    return routed


class CommunityConnector(Connector):
    """Finds a nearby community service and delivers through ``channel``."""

    def __init__(
        self,
        hsds: HsdsClient,
        channel: Connector,
        *,
        taxonomy_term_id: str | None = None,
        proximity: int | None = None,
        max_pages: int = 5,
    ) -> None:
        self._hsds = hsds
        self._channel = channel
        self._taxonomy_term_id = taxonomy_term_id
        self._proximity = proximity
        self._max_pages = max_pages

    async def deliver(self, delivery: Delivery) -> Receipt:
        service = await self._find_service(delivery)
        references = recipient_references(service, self._hsds.base_url)
        sent_to = service_named(service)
        routed = replace(
            delivery,
            bundle=addressed_to(delivery.bundle, service, self._hsds.base_url),
            summary={**delivery.summary, "recipient": references["owner"], "service": sent_to},
        )
        receipt = await self._channel.deliver(routed)
        remote_ids = {**receipt.remote_ids, "hsds:service": service.id}
        remote_ids["hsds:service_name"] = service.name
        if service.organization_id is not None:
            remote_ids["hsds:organization"] = service.organization_id
        if "organization_name" in sent_to:
            remote_ids["hsds:organization_name"] = sent_to["organization_name"]
        owner = references["owner"]["display"]
        detail = f"sent to {owner} ({service.name})"
        if receipt.detail:
            detail = f"{detail}; {receipt.detail}"
        return Receipt(remote_ids=remote_ids, status_code=receipt.status_code, detail=detail)

    async def _find_service(self, delivery: Delivery) -> Service:
        postcode = patient_postal_code(delivery.bundle)
        if postcode is None:
            raise PermanentDeliveryError(
                "the referral has no postal code for the person, so no nearby community "
                "service can be looked up; choose a service by hand"
            )
        services = await self._hsds.find_services(
            taxonomy_term_id=self._taxonomy_term_id,
            postcode=postcode,
            proximity=self._proximity,
            max_pages=self._max_pages,
        )
        service = choose_service(services)
        if service is None:
            raise PermanentDeliveryError(
                f"the community directory lists no active service near the person's postal "
                f"code ({self._search_terms()}); choose a service by hand"
            )
        if service.organization is None:
            service = await self._hsds.get_service(service.id)
        return service

    def _search_terms(self) -> str:
        terms = [self._hsds.base_url]
        if self._taxonomy_term_id:
            terms.append(f"taxonomy term {self._taxonomy_term_id}")
        if self._proximity:
            terms.append(f"within {self._proximity} m")
        return ", ".join(terms)

    async def aclose(self) -> None:
        await self._hsds.aclose()
        await self._channel.aclose()
