"""A gateway with console accounts, and a browser-like client for its forms (no JS)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from harness import PUBLIC_URL, Harness, base_config, running_gateway

from gateway.console.accounts import ConsoleRole, add_account
from gateway.console.credentials import hash_password, totp_code

PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Clock:
    """A clock the test moves; starts now, so tokens and consents stay valid."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def console_config(keys: dict[str, Any]) -> dict[str, Any]:
    config = base_config(keys)
    config["destinations"].append({"name": "clinic-b", "type": "inbox"})
    config["routing"].insert(0, {"name": "to-b", "when": {"pathway": ["self-care"]},
                                 "send_to": ["clinic-b"]})
    config["console"] = {"idle_timeout_seconds": 900, "absolute_timeout_seconds": 43200}
    config["models"] = [MODEL_CARD]
    config["drift"] = {"min_referrals": 1, "psi_alert": 0.01}  # one referral is a verdict
    return config


MODEL_CARD = {
    "name": "example-triage",
    "versions": ["2.3.1"],
    "developer": "Example Health AI, ai@example.org",
    "intended_use": "Suggest a risk level for a clinician to review.",
    "intended_population": "Adults seeking mental-health support online.",
    "out_of_scope": "Children; diagnosis.",
    "limitations": "English-language answers only.",
    "validation": "Retrospective validation on 12,000 referrals.",
    "fairness": "Agreement within 3 points across sex and age bands.",
    "maintenance": "Re-validated every 6 months.",
    "expected_risk_levels": {"none": 0.25, "low": 0.5, "moderate": 0.2, "high": 0.04,
                             "imminent": 0.01},
}


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@dataclass
class Browser:
    """Cookies and forms as a browser keeps them, over the ASGI app."""

    client: httpx.AsyncClient
    clock: Clock

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def post(self, path: str, data: dict[str, str], *, origin: str | None = PUBLIC_URL,
                   ) -> httpx.Response:
        headers = {"Origin": origin} if origin else {}
        return await self.client.post(path, data=data, headers=headers)

    async def form_post(self, page: str, path: str, data: dict[str, str]) -> httpx.Response:
        """Open ``page``, take its CSRF token, post ``data`` to ``path``."""
        token = csrf((await self.get(page)).text)
        return await self.post(path, {"csrf_token": token, **data})

    async def sign_in(self, username: str, password: str = PASSWORD, *, next_path: str = "",
                      code: str | None = None) -> httpx.Response:
        page = await self.get("/console/login" + (f"?next={next_path}" if next_path else ""))
        response = await self.post("/console/login", {
            "csrf_token": csrf(page.text), "username": username, "password": password,
            "next": next_path or "/console/",
        })
        if response.status_code == 303 and response.headers["location"] == "/console/login/code":
            step = await self.get("/console/login/code")
            response = await self.post("/console/login/code", {
                "csrf_token": csrf(step.text),
                "code": code if code is not None else totp_code(TOTP_SECRET, self.clock()),
            })
        return response


@dataclass
class Rig:
    harness: Harness
    clock: Clock

    def browser(self) -> Browser:
        transport = self.harness.client._transport  # the same app, its own cookie jar
        return Browser(httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL), self.clock)

    async def add_user(self, username: str, role: ConsoleRole, *destinations: str,
                       totp: bool = False) -> None:
        async with self.harness.gateway.engine.begin() as conn:
            await add_account(
                conn, username=username, role=role, destinations=destinations,
                password_hash=hash_password(PASSWORD),
                totp_secret=TOTP_SECRET if totp or role.needs_second_factor else None,
                now=self.clock(),
            )


@asynccontextmanager
async def console_rig(tmp_path: Path, **kwargs: Any) -> AsyncIterator[Rig]:
    clock = Clock()
    async with running_gateway(tmp_path, config=console_config, clock=clock, **kwargs) as h:
        rig = Rig(h, clock)
        await rig.add_user("olive", ConsoleRole.OPERATOR)
        await rig.add_user("cara", ConsoleRole.CRISIS_RESPONDER, "crisis-desk")
        await rig.add_user("rita", ConsoleRole.RECIPIENT, "inbox")
        await rig.add_user("bea", ConsoleRole.RECIPIENT, "clinic-b")
        await rig.add_user("pia", ConsoleRole.PRIVACY_OFFICER)
        yield rig
