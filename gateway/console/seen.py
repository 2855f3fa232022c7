"""Which referrals a session has already been shown on a list page (audited once each).

The crisis desk polls every few seconds; each referral it shows is audited the first
time a session sees it, not on every poll. Kept per process: a second process may
audit a sighting again, never miss one.
"""

from __future__ import annotations

from collections import OrderedDict

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.console.views_audit import audit_views
from gateway.console.web import Viewer, services_of

MAX_SESSIONS = 10_000


def first_sightings(request: Request, session_id: str, keys: list[str]) -> set[str]:
    """The ``keys`` this session has not been shown before; remembers them from now on."""
    store: OrderedDict[str, set[str]] | None = getattr(request.app.state, "console_seen", None)
    if store is None:
        store = OrderedDict()
        request.app.state.console_seen = store
    seen = store.setdefault(session_id, set())
    store.move_to_end(session_id)
    while len(store) > MAX_SESSIONS:
        store.popitem(last=False)
    fresh = {key for key in keys if key not in seen}
    seen.update(fresh)
    return fresh


async def audit_first_sightings(
    request: Request,
    conn: AsyncConnection,
    viewer: Viewer,
    shown: dict[str, tuple[str, str]],
    page: str,
) -> None:
    """Audit each ``(referral_id, patient_id)`` of ``shown`` (by key) this session has not
    been shown before on a list page."""
    services = services_of(request)
    fresh = first_sightings(request, viewer.session.id_hash, list(shown))
    await audit_views(
        conn,
        services.audit,
        username=viewer.username,
        is_operator=viewer.account.is_operator,
        seen=[shown[key] for key in sorted(fresh)],
        page=page,
        now=services.clock(),
    )
