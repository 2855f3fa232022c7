"""Reads one Patient from a CDS Client's FHIR server (CDS Hooks 2.0 §"FHIR Resource Access").

When an EHR calls the CDS service without the prefetched Patient, the service reads
``{fhirServer}/Patient/{id}`` with the ``fhirAuthorization.access_token`` the EHR gave
it. The call goes through the SSRF-guarded outbound client (``connectors.outbound``);
redirects are not followed. Any failure is ``None``: the caller answers 412.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

MAX_PATIENT_BYTES = 512 * 1024
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class FhirPatientReader:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def read_patient(
        self, fhir_server: str, patient_id: str, access_token: str | None
    ) -> dict[str, Any] | None:
        if not _FHIR_ID.match(patient_id) or not fhir_server.startswith(("https://", "http://")):
            return None
        headers = {"Accept": "application/fhir+json"}
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        url = f"{fhir_server.rstrip('/')}/Patient/{patient_id}"
        try:
            response = await self._http.get(url, headers=headers, timeout=5.0)
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or len(response.content) > MAX_PATIENT_BYTES:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("resourceType") != "Patient":
            return None
        return body
