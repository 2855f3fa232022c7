"""What ``GET /referrals/{id}`` shows: status, routing with reasons, the "why",
each delivery with its attempts and outcome, the Task status, and FHIR links."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.context import fhir_instant
from gateway.crisis.view import crisis_sections
from gateway.delivery.status import DeliveryStatus
from gateway.store import fhir_store
from gateway.store.tables import deliveries, delivery_attempts, fhir_resources, referrals


def _instant(value: Any) -> str | None:
    return fhir_instant(value, "auto") if value is not None else None


async def load_referral(
    conn: AsyncConnection, referral_id: str, *, client_id: str | None
) -> dict[str, Any] | None:
    """The referral view, or None when it does not exist or ``client_id`` may not see it."""
    row = (await conn.execute(select(referrals).where(referrals.c.id == referral_id))).first()
    if row is None or (client_id is not None and row.client_id != client_id):
        return None
    answer = orjson.loads(row.response)
    delivery_rows = list(
        await conn.execute(
            select(deliveries)
            .where(deliveries.c.referral_id == referral_id)
            .order_by(deliveries.c.lane, deliveries.c.destination)
        )
    )
    attempts_by_delivery: dict[str, list[dict[str, Any]]] = {}
    if delivery_rows:
        for attempt in await conn.execute(
            select(delivery_attempts)
            .where(delivery_attempts.c.delivery_id.in_([d.id for d in delivery_rows]))
            .order_by(delivery_attempts.c.id)
        ):
            attempts_by_delivery.setdefault(attempt.delivery_id, []).append(
                {
                    "attempt": attempt.attempt,
                    "at": _instant(attempt.finished_at),
                    "outcome": attempt.outcome,
                    "status_code": attempt.status_code,
                    "detail": attempt.detail,
                }
            )
    delivery_views = []
    for d in delivery_rows:
        task = await fhir_store.read(conn, "Task", d.task_id) if d.task_id else None
        delivery_views.append(
            {
                "id": d.id,
                "destination": d.destination,
                "status": d.status,
                "purpose": d.purpose,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "next_attempt_at": (
                    _instant(d.next_attempt_at) if d.status == DeliveryStatus.PENDING else None
                ),
                "delivered_at": _instant(d.delivered_at),
                "receipt": orjson.loads(d.receipt) if d.receipt else None,
                "attempt_log": attempts_by_delivery.get(d.id, []),
                "task": {
                    "reference": f"Task/{task.id}",
                    "status": task.body.get("status"),
                    "business_status": (task.body.get("businessStatus") or {}).get("text"),
                    "status_reason": (task.body.get("statusReason") or {}).get("text"),
                    "last_updated": _instant(task.last_updated),
                }
                if task
                else None,
            }
        )
    # Crisis path (gateway.crisis): who acknowledged each crisis delivery, and escalations.
    crisis = await crisis_sections(conn, delivery_rows, include_notes=client_id is None)
    for delivery_view in delivery_views:
        delivery_view.update(crisis.get(delivery_view["id"], {}))
    links = {"self": f"/referrals/{referral_id}"}
    resource_rows = await conn.execute(
        select(fhir_resources.c.resource_type, fhir_resources.c.id).where(
            fhir_resources.c.referral_id == referral_id
        )
    )
    for rtype, rid in resource_rows:
        links.setdefault(rtype, f"/fhir/{rtype}/{rid}")
    links["Patient"] = f"/fhir/Patient/{row.patient_id}"
    return {
        "referral_id": row.id,
        "triage_id": row.triage_id,
        "status": row.status,
        "created_at": _instant(row.created_at),
        "updated_at": _instant(row.updated_at),
        "risk_level": row.risk_level,
        "pathway": row.pathway,
        "urgency": row.urgency,
        "routing": answer["routing"],
        **{k: answer[k] for k in ("model_paused", "model_paused_reason") if k in answer},
        "explanation": orjson.loads(row.explanation),
        "consent_id": answer["consent_id"],
        "consent_summary": answer["consent_summary"],
        "deliveries": delivery_views,
        "links": links,
    }
