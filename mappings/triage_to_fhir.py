"""A validated triage result -> one FHIR R4 transaction Bundle, as plain dicts.

Pure: no clock, no randomness, no I/O. Resource uuids are uuid5 of the referral id and
the resource's role (:mod:`mappings.ids`); the time the gateway accepted the triage
result comes in through :class:`MappingContext`. Consent is not mapped here.

Entries, in order: Patient, Organization (the app), Device (the model), then per
assessment its QuestionnaireResponse and Observations, RiskAssessment, ServiceRequest,
Task, Provenance. See ``docs/codes.md`` for every code used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mappings.assessments import map_assessment
from mappings.bundle_entries import entry
from mappings.ids import resource_uuid
from mappings.patient import patient_resource
from mappings.referral import (
    ReferralIds,
    device_resource,
    organization_resource,
    provenance_resource,
    risk_assessment_resource,
    service_request_resource,
    task_resource,
)
from mappings.scoring import ScoredAssessment, score_triage


@dataclass(frozen=True)
class MappingContext:
    """What the gateway knows about a triage result besides its body.

    ``client_id`` becomes the requester Organization's identifier in the
    ``urn:referral-gateway:client-id`` system; ``received_at`` is an ISO 8601 instant;
    ``model_card_url`` is where the declared model's card is served (None: undeclared).
    """

    referral_id: str
    client_id: str
    received_at: str
    model_card_url: str | None = None


def referral_ids(referral_id: str) -> ReferralIds:
    return ReferralIds(
        **{
            field: resource_uuid(referral_id, field.replace("_", "-"))
            for field in ReferralIds.__dataclass_fields__
        }
    )


def map_triage(
    triage: dict[str, Any],
    ctx: MappingContext,
    scored: Sequence[ScoredAssessment] | None = None,
) -> dict[str, Any]:
    """The transaction Bundle for one triage result (already validated against the contract).

    ``scored`` is ``score_triage(triage)`` when the caller has it already.
    """
    ids = referral_ids(ctx.referral_id)
    scores = score_triage(triage) if scored is None else scored
    responses: list[tuple[str, dict[str, Any]]] = []
    observations: list[tuple[str, dict[str, Any]]] = []
    for index, (assessment, score) in enumerate(zip(triage["assessments"], scores, strict=True)):
        mapped = map_assessment(
            index,
            assessment,
            score,
            ctx.referral_id,
            ids.patient,
            triage["submitted_at"],
        )
        responses.append(mapped.response)
        observations.extend(mapped.observations)
    response_uuids = [uuid for uuid, _ in responses]
    observation_uuids = [uuid for uuid, _ in observations]
    resources = [
        (ids.patient, patient_resource(triage["patient"], ids.patient)),
        (ids.organization, organization_resource(ctx.client_id)),
        (ids.device, device_resource(triage["model"])),
        *responses,
        *observations,
        (ids.risk_assessment, risk_assessment_resource(triage, ids, observation_uuids)),
        (
            ids.service_request,
            service_request_resource(triage, ids, observation_uuids, response_uuids),
        ),
        (ids.task, task_resource(triage, ids, ctx.received_at)),
        (
            ids.provenance,
            provenance_resource(
                triage, ids, response_uuids, ctx.received_at, model_card_url=ctx.model_card_url
            ),
        ),
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [entry(uuid, resource) for uuid, resource in resources],
    }
