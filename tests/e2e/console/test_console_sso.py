"""Single sign-on (authorization code + PKCE) against the real oidc-provider: the role
and destinations come from ID-token claims; a person without a console role gets in
nowhere."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_live import USERS, Console, start_console
from oidc import installed_server
from playwright.sync_api import expect
from sekmet import free_port, stop_process

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
SSO_SOURCE = Path(__file__).with_name("oidc") / "sso.mjs"
SECRET = "console-client-secret-for-tests-only"
ACCOUNTS = {
    "clinician": {"preferred_username": "sso-clinician", "console_role": "recipient",
                  "console_destinations": ["inbox"]},
    "visitor": {"preferred_username": "sso-visitor"},
}


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the single sign-on test did NOT run")
    directory = tmp_path_factory.mktemp("sso")
    port = free_port()
    oidc = {"issuer": f"http://127.0.0.1:{port}", "client_id": "console",
            "client_secret": SECRET, "allow_private_network": True}
    console = start_console(directory, USERS[:1], oidc=oidc)
    gateway = next(console)
    server = installed_server()
    script = server / "console-sso.mjs"
    script.write_bytes(SSO_SOURCE.read_bytes())
    settings = directory / "sso.json"
    settings.write_text(json.dumps({
        "port": port, "redirect_uri": f"{gateway.url}/console/oidc/callback",
        "client_id": "console", "client_secret": SECRET, "accounts": ACCOUNTS,
    }))
    log = directory / "sso.log"
    with log.open("wb") as out:
        process = subprocess.Popen([node, str(script), str(settings)], cwd=directory,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while '"ready":true' not in log.read_text(errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield gateway
    finally:
        stop_process(process)
        console.close()


def _through_provider(page: Any, sso: Console, login: str, path: str) -> None:
    page.goto(sso.url + path)
    page.get_by_role("button", name="Sign in with single sign-on").click()
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("any")
    page.get_by_role("button", name="Sign-in").click()


def test_single_sign_on_maps_the_role_claim(sso: Console, context: Any) -> None:
    page = context.new_page()
    _through_provider(page, sso, "clinician", "/console/inbox")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert page.url == sso.url + "/console/inbox"
    expect(page.get_by_text("sso-clinician")).to_be_visible()
    cookies = {c["name"] for c in context.cookies()}
    assert "console_session" in cookies
    response = page.goto(sso.url + "/console/crisis")
    assert response is not None and response.status == 403


def test_no_console_role_no_entry(sso: Console, context: Any) -> None:
    page = context.new_page()
    _through_provider(page, sso, "visitor", "/console/inbox")
    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
    assert (page.goto(sso.url + "/console/inbox") or page).url.startswith(
        sso.url + "/console/login"
    )


def test_a_forged_callback_is_refused(sso: Console, context: Any) -> None:
    page = context.new_page()
    response = page.goto(sso.url + "/console/oidc/callback?state=forged&code=forged")
    assert response is not None and response.status == 401
