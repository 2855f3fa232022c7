"""Every resource the gateway emits validates against the official FHIR R4 JSON schema:
the CapabilityStatement, OperationOutcomes, search Bundles of every served type
(including the AuditEvents and Consents it writes), Tasks after updates, and exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhir_schema import problems
from harness import running_gateway, triage

from gateway.fhir_search import SERVED_TYPES

PERSON = "https://app.example.org/patients|p-123"


async def test_everything_emitted_is_valid_r4(tmp_path: Path) -> None:
    emitted: list[tuple[str, dict[str, Any]]] = []
    async with running_gateway(tmp_path) as h:
        for name in ("contract-example", "imminent-risk", "minimal-patient"):
            response = await h.submit(triage(name))
            assert response.status_code == 202, response.text
        await h.deliver_all()
        emitted.append(("metadata", (await h.client.get("/fhir/metadata")).json()))
        bad = triage()
        bad["risk"]["level"] = "severe"
        emitted.append(("422", (await h.submit(bad)).json()))
        emitted.append(("401", (await h.client.get("/fhir/Task")).json()))
        emitted.append(("404", (await h.get("/fhir/Task/nope", client_id="operator")).json()))
        for rtype in SERVED_TYPES:
            bundle = (await h.get(f"/fhir/{rtype}", client_id="operator", _count="200")).json()
            assert bundle["resourceType"] == "Bundle", (rtype, bundle)
            emitted.append((f"search {rtype}", bundle))
        emitted.append(
            ("export", (await h.get(f"/patients/{PERSON}/export", client_id="operator")).json())
        )
    failures = {label: problems(resource) for label, resource in emitted}
    failures = {label: found[:5] for label, found in failures.items() if found}
    assert not failures, json.dumps(failures, indent=1)
    searched = {label for label, resource in emitted if resource.get("total")}
    assert {"search AuditEvent", "search Consent", "search Task", "search Provenance"} <= searched
