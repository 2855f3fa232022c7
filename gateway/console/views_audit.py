"""Every look at a referral in the console is a disclosure to a named person (BALP).

The AuditEvent names the console user as recipient (``urn:referral-gateway:console-user``),
with purpose ``TREAT`` (recipients, crisis responders) or ``HOPERAT`` (operators), so the
person's accounting of disclosures lists it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit import balp
from gateway.audit.recorder import AuditRecorder, PendingEntry, append_entries, patient_ref
from gateway.context import fhir_instant

CONSOLE_USER_SYSTEM = "urn:referral-gateway:console-user"
REFERRAL_SYSTEM = "urn:referral-gateway:referral"


def console_party(username: str) -> balp.Party:
    return balp.Party(
        who={"identifier": {"system": CONSOLE_USER_SYSTEM, "value": username}, "display": username}
    )


async def audit_views(
    conn: AsyncConnection,
    audit: AuditRecorder,
    *,
    username: str,
    is_operator: bool,
    seen: list[tuple[str, str]],
    page: str,
    now: datetime,
) -> None:
    """Record that ``username`` saw each ``(referral_id, patient_id)`` on ``page``."""
    pending = [
        PendingEntry(
            balp.disclosure(
                recorded=fhir_instant(now),
                gateway=audit.gateway,
                recipient=console_party(username),
                patient=patient_ref(patient_id),
                purpose="HOPERAT" if is_operator else "TREAT",
                data=[
                    {"identifier": {"system": REFERRAL_SYSTEM, "value": referral_id}},
                    {"display": f"console page {page}"},
                ],
            ),
            "read-disclosure",
            referral_id,
            patient_id,
        )
        for referral_id, patient_id in seen
    ]
    if pending:
        await append_entries(conn, pending, now=now)
