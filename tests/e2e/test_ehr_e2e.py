"""End to end over real HTTP: a triage app submits to a running gateway (``gateway
serve``, real SMART token), the in-process worker delivers to a real EHR (sekmet-fhir),
and the EHR then holds exactly one Patient, ServiceRequest and Task for it, also after
the same triage result is submitted again; with the EHR open, and with the EHR
requiring SMART Backend Services tokens from the gateway."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from live_gateway import serving_gateway, write_gateway_files
from sekmet import Ehr, ehr_destination, identifier_query, routed_to_ehr, unique_triage

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _delivered_to_ehr(view: dict[str, Any]) -> bool:
    return any(
        d["destination"] == "county-ehr" and d["status"] == "delivered" for d in view["deliveries"]
    )


def _one_each(ehr: Ehr, body: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """Exactly one Patient, ServiceRequest and Task on the EHR for this referral."""
    patient_identifier = identifier_query(body["patient"]["identifiers"][0])
    (patient,) = ehr.search("Patient", identifier=patient_identifier)
    service_requests = ehr.search("ServiceRequest", patient=f"Patient/{patient['id']}")
    tasks = ehr.search("Task", patient=f"Patient/{patient['id']}")
    assert len(service_requests) == 1, service_requests
    assert len(tasks) == 1, tasks
    (task,) = tasks
    assert task["focus"]["reference"] == f"ServiceRequest/{service_requests[0]['id']}"
    delivery = next(d for d in view["deliveries"] if d["destination"] == "county-ehr")
    assert delivery["receipt"]["remote_ids"]["Task"] == task["id"]
    return task


@pytest.mark.parametrize("server", ["ehr", "smart_ehr"], ids=["no-auth", "smart-auth"])
async def test_submit_over_http_lands_once_on_the_ehr_even_when_resubmitted(
    tmp_path: Path, server: str, request: pytest.FixtureRequest
) -> None:
    ehr: Ehr = request.getfixturevalue(server)
    files = write_gateway_files(
        tmp_path,
        routed_to_ehr(ehr_destination(ehr)),
        f"sqlite+aiosqlite:///{tmp_path}/gateway.db",
    )
    body = unique_triage("minimal-patient")
    with serving_gateway(files) as gateway:
        first = gateway.submit(body)
        assert first.status_code == 202, first.text
        location = first.headers["location"]
        view = gateway.wait_for(location, _delivered_to_ehr)
        task = _one_each(ehr, body, view)
        assert task["status"] == "requested"
        assert task["owner"]["identifier"]["value"] == "county-ehr"

        again = gateway.submit(body)
        assert again.status_code == 202
        assert again.json() == first.json()
        time.sleep(0.5)  # give the worker the chance to (wrongly) send it again
        view_again = gateway.wait_for(location, _delivered_to_ehr)
        assert view_again["deliveries"] == view["deliveries"]
        _one_each(ehr, body, view_again)
