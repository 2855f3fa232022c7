"""Link a submission's resources to what is stored: reuse matches, give new ones their ids.

Follows the transaction rules of FHIR R4 (http://hl7.org/fhir/R4/http.html#trules):
an entry whose ``ifNoneExist`` matches a stored resource (or one created earlier in
the same batch) is not stored again, every ``urn:uuid:`` reference is rewritten to
``Type/id``, and a matched Patient takes the newer content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.store import fhir_store

NaturalKey = tuple[str, str, str]


@dataclass
class Linked:
    """One submission's resources, linked and queued."""

    references: dict[str, str]
    """fullUrl -> local ``Type/id``."""
    patient_id: str
    rows: fhir_store.RowBuffer
    refreshes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """(type, id, newer content) of matched resources that take the newer content."""
    new_keys: dict[NaturalKey, str] = field(default_factory=dict)
    """Natural keys of the new resources, so a later submission in the batch reuses them."""


def local_entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entry but the Task template: each destination gets its own Task."""
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Task"]


def task_template(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task")


def link_resources(
    bundle: dict[str, Any],
    matches: dict[str, str],
    created: dict[NaturalKey, str],
    *,
    now: datetime,
    referral_id: str,
    client_id: str,
) -> Linked:
    """Resolve references and queue the rows of every new resource of ``bundle``."""
    entries = local_entries(bundle)
    references: dict[str, str] = {}
    refreshes: list[tuple[str, str, dict[str, Any]]] = []
    new_keys: dict[NaturalKey, str] = {}
    reused: set[str] = set()
    for entry in entries:
        rtype = entry["resource"]["resourceType"]
        key = fhir_store.natural_key(entry)
        existing_id = matches.get(entry["fullUrl"]) or (created.get(key) if key else None)
        if existing_id is not None:
            reused.add(entry["fullUrl"])
            references[entry["fullUrl"]] = f"{rtype}/{existing_id}"
            if rtype in fhir_store.REFRESHED_ON_MATCH:
                refreshes.append((rtype, existing_id, entry["resource"]))
        else:
            local_id = entry["fullUrl"].removeprefix("urn:uuid:")
            references[entry["fullUrl"]] = f"{rtype}/{local_id}"
            if key:
                new_keys[key] = local_id
    patient_id = next(
        ref.split("/", 1)[1] for ref in references.values() if ref.startswith("Patient/")
    )
    rows = fhir_store.RowBuffer(now)
    for entry in entries:
        if entry["fullUrl"] in reused:
            continue
        rid = references[entry["fullUrl"]].split("/", 1)[1]
        rows.add(
            fhir_store.rewrite_references({**entry["resource"], "id": rid}, references),
            referral_id=referral_id,
            patient_id=patient_id,
            client_id=client_id,
        )
    return Linked(
        references=references,
        patient_id=patient_id,
        rows=rows,
        refreshes=[
            (rtype, rid, fhir_store.rewrite_references(resource, references))
            for rtype, rid, resource in refreshes
        ],
        new_keys=new_keys,
    )
