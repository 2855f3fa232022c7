"""Signing in and out: ``/console/login``, the one-time-code step, ``POST /console/logout``.

CONTRACT.md v1.1 "Console": a failure never says which part was wrong; five failures
(passwords or codes) for a username within 15 minutes lock it for 15 minutes; a
successful sign-in sets a new session cookie (OWASP: renew the session id on login).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from gateway.console.accounts import (
    Account,
    ConsoleRole,
    clear_failures,
    get_account,
    is_locked,
    record_failure,
)
from gateway.console.credentials import verify_password, verify_totp
from gateway.console.sessions import (
    SECOND_FACTOR,
    SIGNED_IN,
    Session,
    current_session,
    end_session,
    open_session,
)
from gateway.console.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    ConsoleRoute,
    check_post,
    render,
    safe_next,
    services_of,
    set_cookie,
    viewer_of,
)
from gateway.services import Services

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
FAILED = (
    "Sign-in failed. Check what you entered and try again. After repeated failures an "
    "account is locked for 15 minutes."
)
HOME = {
    ConsoleRole.OPERATOR: "/console/crisis",
    ConsoleRole.CRISIS_RESPONDER: "/console/crisis",
    ConsoleRole.RECIPIENT: "/console/inbox",
    ConsoleRole.PRIVACY_OFFICER: "/console/people",
}


def login_page(
    request: Request, next_path: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    services = services_of(request)
    oidc = services.config.console.oidc
    response = render(
        request,
        "login.html",
        {
            "csrf_token": token,
            "next_path": next_path,
            "error": error,
            "sso_label": oidc.button_label if oidc else None,
        },
        status_code=status_code,
    )
    set_cookie(response, services, LOGIN_COOKIE, token)
    return response


async def signed_in(
    services: Services, account: Account, next_path: str, old_cookie: str | None
) -> Response:
    """Open a new session (ending the one before it) and go where the user was going."""
    now = services.clock()
    async with services.engine.begin() as conn:
        old = await current_session(conn, old_cookie, services.config.console, now)
        if old is not None:
            await end_session(conn, old.id_hash)
        await clear_failures(conn, account.username)
        cookie, _session = await open_session(conn, account.username, SIGNED_IN, None, now)
    target = next_path if next_path != "/console/" else HOME[account.role]
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, services, SESSION_COOKIE, cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.get("/", name="console_home")
async def home(request: Request) -> Response:
    viewer = await viewer_of(request)
    return RedirectResponse(HOME[viewer.role], status_code=303)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return login_page(request, safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    services = services_of(request)
    form = await check_post(request, request.cookies.get(LOGIN_COOKIE, ""))
    username = form.get("username", "").strip()
    password = form.get("password", "")
    next_path = safe_next(form.get("next"))
    now = services.clock()
    async with services.engine.begin() as conn:
        locked = await is_locked(conn, username, services.config.console, now)
        account = await get_account(conn, username)
        stored = account.password_hash if account else None
        good = verify_password(stored, password) and account is not None and not account.disabled
        if locked or not good:
            if not locked:
                await record_failure(conn, username, now)
            return login_page(request, next_path, error=FAILED, status_code=401)
        assert account is not None
        if account.totp_secret is not None:
            cookie, _ = await open_session(conn, username, SECOND_FACTOR, next_path, now)
    if account.totp_secret is None:
        return await signed_in(services, account, next_path, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/console/login/code", status_code=303)
    set_cookie(response, services, SESSION_COOKIE, cookie)
    return response


async def _pending(request: Request) -> Session | None:
    """The session waiting for its one-time code, if the cookie names one."""
    services = services_of(request)
    async with services.engine.begin() as conn:
        session = await current_session(
            conn, request.cookies.get(SESSION_COOKIE), services.config.console, services.clock()
        )
    return session if session is not None and session.stage == SECOND_FACTOR else None


@router.get("/login/code")
async def code_form(request: Request) -> Response:
    session = await _pending(request)
    if session is None:
        return RedirectResponse("/console/login", status_code=303)
    return render(request, "login_code.html", {"csrf_token": session.csrf_token})


@router.post("/login/code")
async def login_code(request: Request) -> Response:
    services = services_of(request)
    now = services.clock()
    session = await _pending(request)
    if session is None:
        return RedirectResponse("/console/login", status_code=303)
    form = await check_post(request, session.csrf_token)
    code = form.get("code", "")
    async with services.engine.begin() as conn:
        account = await get_account(conn, session.username)
        locked = await is_locked(conn, session.username, services.config.console, now)
        good = (
            not locked
            and account is not None
            and not account.disabled
            and account.totp_secret is not None
            and verify_totp(account.totp_secret, code, now)
        )
        if not good:
            if not locked:
                await record_failure(conn, session.username, now)
            locked = await is_locked(conn, session.username, services.config.console, now)
            if locked:
                await end_session(conn, session.id_hash)
    if not good:
        if locked:
            return login_page(request, "/console/", error=FAILED, status_code=401)
        return render(
            request,
            "login_code.html",
            {"csrf_token": session.csrf_token, "error": FAILED},
            status_code=401,
        )
    assert account is not None
    return await signed_in(
        services, account, safe_next(session.next_path), request.cookies.get(SESSION_COOKIE)
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    viewer = await viewer_of(request)
    await check_post(request, viewer.session.csrf_token)
    services = services_of(request)
    async with services.engine.begin() as conn:
        await end_session(conn, viewer.session.id_hash)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response

