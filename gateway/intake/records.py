"""The rows an accepted submission writes besides its resources: the 202 answer, the
referral, and one outbox row per permitted destination."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson

from consent.summary import summarize
from gateway.intake.routes import DecidedRoute
from mappings.explain import explain

if TYPE_CHECKING:
    from gateway.intake.service import Prepared


def accepted_response(
    item: Prepared, decided: list[DecidedRoute], consent: dict[str, Any]
) -> bytes:
    """The body of the 202 (CONTRACT.md, "Accepted"), stored to answer a replay the same."""
    summary = summarize(consent, now=item.now)
    paused = item.decision.model_paused
    return orjson.dumps(
        {
            **({"model_paused": True, "model_paused_reason": paused} if paused else {}),
            "referral_id": item.referral_id,
            "triage_id": item.submission.triage_id,
            "status": "accepted",
            "routing": [chosen.view() for chosen in decided],
            "consent_id": f"Consent/{consent['id']}",
            "consent_summary": " ".join(
                [summary.headline, *summary.details, summary.withdraw]
            ).strip(),
            "consent_summary_layers": summary.to_dict(),
            "links": {"self": f"/referrals/{item.referral_id}"},
        }
    )


def referral_row(
    item: Prepared, patient_id: str, consent_id: str, response: bytes
) -> dict[str, Any]:
    submission = item.submission
    return {
        "id": item.referral_id,
        "client_id": item.client_id,
        "triage_id": submission.triage_id,
        "body_hash": item.digest,
        "status": "accepted",
        "risk_level": submission.risk.level,
        "pathway": submission.request.pathway,
        "urgency": submission.request.urgency,
        "patient_id": patient_id,
        "consent_id": consent_id,
        "created_at": item.now,
        "updated_at": item.now,
        "bundle": orjson.dumps(item.bundle),
        "response": response,
        "routing": orjson.dumps(item.decision.to_dict()),
        "explanation": orjson.dumps(explain(item.canonical, item.scored)),
    }


def delivery_row(
    item: Prepared, chosen: DecidedRoute, *, delivery_id: str, lane: int, task_id: str
) -> dict[str, Any]:
    """An outbox row, due at once."""
    return {
        "id": delivery_id,
        "referral_id": item.referral_id,
        "destination": chosen.destination.name,
        "lane": lane,
        "status": "pending",
        "purpose": chosen.disclosure.decision.purpose,
        "attempts": 0,
        "next_attempt_at": item.now - timedelta(seconds=1),
        "task_id": task_id,
        "created_at": item.now,
        "updated_at": item.now,
    }
