"""Single sign-on through an OpenID Connect provider (``console.oidc``).

Authorization code flow with PKCE (OpenID Connect Core 1.0 §3.1, RFC 7636): ``POST
/console/oidc/start`` (from the sign-in page, CSRF-checked) sends the browser to the
provider with ``state``, ``nonce`` and an S256 challenge; ``GET /console/oidc/callback``
checks the ``state`` against the flow stored server-side and the browser's cookie,
exchanges the code, checks the ID token, and maps ``roles_claim`` and
``destinations_claim`` to the console role and destinations. The provider is then the
one that checks the person's factors. A failure shows the sign-in page's one message.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import delete, insert, select

from connectors.oidc import OidcClient, OidcError, pkce_pair
from connectors.outbound import OutboundPolicy, make_client
from gateway.console.accounts import AccountError, ConsoleRole, single_sign_on_account
from gateway.console.config import OidcConfig
from gateway.console.routes_auth import FAILED, login_page, signed_in
from gateway.console.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    ConsoleRoute,
    Refused,
    check_post,
    safe_next,
    services_of,
    set_cookie,
)
from gateway.logging import get_logger
from gateway.services import Services
from gateway.store.tables_console import console_oidc_flows

router = APIRouter(prefix="/console/oidc", route_class=ConsoleRoute, include_in_schema=False)
FLOW_COOKIE = "console_oidc"
FLOW_SECONDS = 600
log = get_logger("gateway.console.oidc")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _settings(services: Services) -> OidcConfig:
    oidc = services.config.console.oidc
    if oidc is None:
        raise Refused(404, "Single sign-on is not configured.")
    return oidc


def _client(request: Request, oidc: OidcConfig) -> OidcClient:
    """One client per process (its discovery document is cached)."""
    client: OidcClient | None = getattr(request.app.state, "console_oidc_client", None)
    if client is None:
        services = services_of(request)
        policy = OutboundPolicy(oidc.allow_private_network, services.config.outbound.allow_private)
        http = make_client(policy, total_timeout=15.0)
        client = OidcClient(oidc.issuer, oidc.client_id, oidc.client_secret, http)
        request.app.state.console_oidc_client = client
    return client


def _redirect_uri(services: Services) -> str:
    return f"{services.settings.public_url}/console/oidc/callback"


@router.post("/start")
async def start(request: Request) -> Response:
    services = services_of(request)
    oidc = _settings(services)
    form = await check_post(request, request.cookies.get(LOGIN_COOKIE, ""))
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    try:
        url = await _client(request, oidc).authorization_url(
            redirect_uri=_redirect_uri(services), scope=oidc.scope, state=state, nonce=nonce,
            challenge=challenge,
        )
    except OidcError as exc:
        log.warning("console.oidc.failed", problem=str(exc))
        return login_page(request, "/console/", error=FAILED, status_code=502)
    async with services.engine.begin() as conn:
        await conn.execute(
            insert(console_oidc_flows).values(
                state_hash=_digest(state), nonce=nonce, code_verifier=verifier,
                next_path=safe_next(form.get("next")), created_at=services.clock(),
            )
        )
    response = RedirectResponse(url, status_code=303)
    set_cookie(response, services, FLOW_COOKIE, state)
    return response


def _role_and_destinations(
    oidc: OidcConfig, claims: dict[str, Any]
) -> tuple[ConsoleRole, tuple[str, ...]] | None:
    raw = claims.get(oidc.roles_claim)
    candidates = raw if isinstance(raw, list) else [raw]
    roles = [ConsoleRole(r) for r in candidates if r in {role.value for role in ConsoleRole}]
    if not roles:
        return None
    places = claims.get(oidc.destinations_claim) or []
    if isinstance(places, str):
        places = places.split()
    return roles[0], tuple(str(p) for p in places if isinstance(p, str))


@router.get("/callback")
async def callback(request: Request, state: str = "", code: str = "") -> Response:
    services = services_of(request)
    oidc = _settings(services)
    now = services.clock()
    async with services.engine.begin() as conn:
        flow = (
            await conn.execute(
                select(console_oidc_flows).where(console_oidc_flows.c.state_hash == _digest(state))
            )
        ).first()
        await conn.execute(
            delete(console_oidc_flows).where(
                (console_oidc_flows.c.state_hash == _digest(state))
                | (console_oidc_flows.c.created_at < now - timedelta(seconds=FLOW_SECONDS))
            )
        )
    bound = secrets.compare_digest(request.cookies.get(FLOW_COOKIE, ""), state)
    if flow is None or not state or not code or not bound:
        return login_page(request, "/console/", error=FAILED, status_code=401)
    try:
        claims = await _client(request, oidc).claims(
            code=code, redirect_uri=_redirect_uri(services), verifier=flow.code_verifier,
            nonce=flow.nonce,
        )
    except OidcError as exc:
        log.warning("console.oidc.failed", problem=str(exc))
        return login_page(request, "/console/", error=FAILED, status_code=401)
    mapped = _role_and_destinations(oidc, claims)
    username = str(claims.get(oidc.username_claim) or claims.get("sub") or "")
    known = {d.name for d in services.config.destinations}
    if mapped is None or not username or not set(mapped[1]) <= known:
        log.warning("console.oidc.refused", problem="no console role or unknown destination")
        return login_page(request, "/console/", error=FAILED, status_code=403)
    try:
        async with services.engine.begin() as conn:
            account = await single_sign_on_account(
                conn, username=username, role=mapped[0], destinations=mapped[1], now=now
            )
    except AccountError:
        return login_page(request, "/console/", error=FAILED, status_code=403)
    response = await signed_in(
        services, account, safe_next(flow.next_path), request.cookies.get(SESSION_COOKIE)
    )
    response.delete_cookie(FLOW_COOKIE, path="/console")
    return response
