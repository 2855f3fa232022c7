"""The Patient, minimised to what a referral needs (FHIR R4 Patient, §8.1).

Kept: identifiers, name, birth date, gender, telecom, address reduced to postal code,
state and country, and the preferred language. Nothing else the app sends is copied.
"""

from __future__ import annotations

from typing import Any

from mappings.bundle_entries import uuid_identifier
from mappings.codes import system

_ADDRESS_FIELDS = {"postal_code": "postalCode", "state": "state", "country": "country"}
_TELECOM_FIELDS = ("system", "value", "use")


def patient_resource(patient: dict[str, Any], patient_uuid: str) -> dict[str, Any]:
    identifiers = [
        {"system": identifier["system"], "value": identifier["value"]}
        for identifier in patient.get("identifiers") or []
    ]
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": identifiers or [uuid_identifier(patient_uuid)],
    }
    name = _name(patient.get("name"))
    if name:
        resource["name"] = [name]
    telecom = [
        {field: contact[field] for field in _TELECOM_FIELDS if contact.get(field)}
        for contact in patient.get("telecom") or []
    ]
    if telecom:
        resource["telecom"] = telecom
    if patient.get("gender"):
        resource["gender"] = patient["gender"]
    if patient.get("birth_date"):
        resource["birthDate"] = patient["birth_date"]
    address = {
        fhir_field: (patient.get("address") or {})[field]
        for field, fhir_field in _ADDRESS_FIELDS.items()
        if (patient.get("address") or {}).get(field)
    }
    if address:
        resource["address"] = [address]
    if patient.get("preferred_language"):
        language = {"system": system("bcp47"), "code": patient["preferred_language"]}
        resource["communication"] = [{"language": {"coding": [language]}, "preferred": True}]
    return resource


def _name(name: dict[str, Any] | None) -> dict[str, Any]:
    if not name:
        return {}
    result: dict[str, Any] = {}
    if name.get("family"):
        result["family"] = name["family"]
    if name.get("given"):
        result["given"] = list(name["given"])
    return result
