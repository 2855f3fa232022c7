"""What every console page shares: templates, security headers, who is signed in, CSRF.

- Responses carry a Content-Security-Policy with scripts from the gateway only (no
  inline script) and ``frame-ancestors 'none'`` (CSP Level 3), ``nosniff``,
  ``no-store`` and ``Referrer-Policy: same-origin``.
- A state-changing request must come from this origin (the ``Origin`` header, else
  ``Referer``, OWASP CSRF Prevention Cheat Sheet) and carry the session's CSRF
  token (the sign-in form's token for the sign-in itself); otherwise 403.
- An unauthenticated request is redirected (303) to ``/console/login?next=...``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.console.accounts import Account, ConsoleRole, get_account
from gateway.console.sessions import SIGNED_IN, Session, current_session, end_session
from gateway.errors import GatewayError
from gateway.services import Services
from gateway.trust.drift import active_drift_alerts

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; media-src 'self'; form-action 'self'{sso}; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
ROLE_NAMES = {
    ConsoleRole.OPERATOR: "Operator",
    ConsoleRole.CRISIS_RESPONDER: "Crisis responder",
    ConsoleRole.RECIPIENT: "Recipient",
    ConsoleRole.PRIVACY_OFFICER: "Privacy officer",
}

templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(Exception):
    """No live session: the caller is sent to the sign-in page, and back afterwards."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Refused(Exception):
    """A page or action this user may not have (403) or may not know of (404)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class Viewer:
    """The signed-in console user."""

    account: Account
    session: Session

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def role(self) -> ConsoleRole:
        return self.account.role

    @property
    def actor(self) -> str:
        """How the user is named where a client id is expected (audit, Task updates)."""
        return f"console:{self.account.username}"

    def require(self, *roles: ConsoleRole) -> None:
        if self.role not in roles:
            raise Refused(403, "This page is not open to your role.")


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def csp(services: Services) -> str:
    """The policy; with single sign-on the sign-in form may also lead to the provider."""
    oidc = services.config.console.oidc
    if oidc is None:
        return CSP.format(sso="")
    parts = urlsplit(oidc.issuer)
    return CSP.format(sso=f" {parts.scheme}://{parts.netloc}")


def secure_cookies(services: Services) -> bool:
    return services.settings.public_url.startswith("https://")


def set_cookie(response: Response, services: Services, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(services),
    )


def safe_next(path: str | None) -> str:
    """Only a console path of this gateway (never another site) is a place to return to."""
    if path and path.startswith("/console/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/console/"


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    values = {
        "viewer": viewer,
        "role_names": ROLE_NAMES,
        "roles": ConsoleRole,
        "csrf_token": viewer.session.csrf_token if viewer else "",
        "path": request.url.path,
        "drift_alerts": getattr(request.state, "drift_alerts", []),
        **context,
    }
    html = templates.get_template(name).render(values)
    return HTMLResponse(html, status_code=status_code)


def same_origin(request: Request, services: Services) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return True  # no header to judge by: the CSRF token alone decides
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    public = urlsplit(services.settings.public_url)
    allowed = {f"{public.scheme}://{public.netloc}"}
    host = request.headers.get("host")
    if host:
        allowed.add(f"{request.url.scheme}://{host}")
    return origin.lower() in {a.lower() for a in allowed}


def tokens_match(expected: str, given: object) -> bool:
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(expected, given)


async def check_post(request: Request, expected_token: str) -> dict[str, str]:
    """The form of a state-changing request from this origin with the right token; else 403."""
    if not same_origin(request, services_of(request)):
        raise Refused(403, "Refused: this request did not come from the console.")
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not tokens_match(expected_token, fields.get("csrf_token")):
        raise Refused(403, "Refused: the form was out of date. Reload the page and try again.")
    return fields


async def viewer_of(request: Request) -> Viewer:
    """The signed-in user (also kept on ``request.state.viewer``), or ``SignInRequired``."""
    services = services_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    next_path = here if request.method == "GET" else "/console/"
    async with services.engine.begin() as conn:
        session = await current_session(
            conn, request.cookies.get(SESSION_COOKIE), services.config.console, services.clock()
        )
        if session is None or session.stage != SIGNED_IN:
            raise SignInRequired(next_path)
        account = await get_account(conn, session.username)
        if account is None or account.disabled:
            await end_session(conn, session.id_hash)
            raise SignInRequired(next_path)
    viewer = Viewer(account, session)
    request.state.viewer = viewer
    request.state.drift_alerts = await active_drift_alerts(services.engine)
    return viewer


class ConsoleRoute(APIRoute):
    """Adds the security headers to every console answer and renders refusals as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired as exc:
                response = RedirectResponse(
                    f"/console/login?next={quote(exc.next_path, safe='/')}", status_code=303
                )
            except Refused as exc:
                response = render(
                    request, "refused.html", {"message": exc.message}, status_code=exc.status_code
                )
            except GatewayError as exc:
                response = render(
                    request,
                    "refused.html",
                    {"message": exc.message},
                    status_code=exc.status_code if exc.status_code < 500 else 500,
                )
            response.headers.update(SECURITY_HEADERS)
            response.headers["Content-Security-Policy"] = csp(services_of(request))
            return response

        return handle
