"""The console in a real browser (Chromium through Playwright): each role's main path,
isolation between recipients, CSRF from another origin, lockout, timeouts, the live
crisis queue, and axe-core on every page (CONTRACT.md v1.1 "Console")."""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from browser import serious_violations
from console_live import PASSWORD, SHOTS, Console
from harness import triage
from playwright.sync_api import Page, expect
from sekmet import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def checked(page: Page, axe: str, shot: str | None = None) -> None:
    """No serious or critical axe-core violation here; a screenshot for docs/console/."""
    problems = serious_violations(page, axe)
    assert not problems, problems
    if shot:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)


def sign_in(page: Page, console: Console, username: str, path: str = "/console/",
            password: str = PASSWORD) -> None:
    page.goto(console.url + path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if username in console.secrets and password == PASSWORD:
        page.get_by_label("One-time code").fill(console.code(username))
        page.get_by_role("button", name="Sign in").click()


def submit(console: Console, name: str, **changes: Any) -> str:
    response = console.gateway.submit(triage(name, **changes))
    assert response.status_code == 202, response.text
    return str(response.json()["referral_id"])


def delivered(console: Console, referral_id: str) -> None:
    console.gateway.wait_for(
        f"/referrals/{referral_id}",
        lambda body: all(d["status"] == "delivered" for d in body["deliveries"]),
    )


def test_responder_sees_a_new_crisis_referral_live_and_acknowledges(
    console: Console, context: Any, axe: str
) -> None:
    page = context.new_page()
    sign_in(page, console, "cara", "/console/crisis")
    expect(page.get_by_role("heading", name="Crisis desk")).to_be_visible()
    checked(page, axe)
    referral_id = submit(console, "imminent-risk", triage_id=f"live-{time.time_ns()}")
    started = time.monotonic()
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    expect(row).to_be_visible(timeout=5000)
    assert time.monotonic() - started < 5
    expect(row).to_contain_text("Sam J. Lee")
    expect(row).to_contain_text("+1-555-0199")
    expect(row).to_contain_text("imminent")
    expect(page.get_by_role("alert").filter(has_text="New crisis referral")).to_be_visible()
    assert int(page.evaluate("document.body.dataset.chimes || '0'")) >= 1  # the audible cue
    expect(row.locator("[data-deadline]")).to_contain_text("min")
    checked(page, axe, "crisis-desk")
    row.get_by_role("button", name="Acknowledge").click()
    page.get_by_label("Note").fill("Called back; safe with family")
    checked(page, axe, "acknowledge")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("Acknowledged")
    expect(page.locator(f'tr[data-referral="{referral_id}"]')).to_have_count(0)
    view = console.gateway.get(f"/referrals/{referral_id}", "operator").json()
    crisis = next(d for d in view["deliveries"] if d["destination"] == "crisis-desk")
    assert crisis["acknowledgement"]["by"] == "cara" and crisis["acknowledgement"]["at"]


def test_recipient_accepts_and_the_app_is_told(console: Console, context: Any, axe: str) -> None:
    referral_id = submit(console, "contract-example", triage_id=f"clinic-{time.time_ns()}")
    delivered(console, referral_id)
    page = context.new_page()
    sign_in(page, console, "rita")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    checked(page, axe, "inbox")
    page.locator(f'a[href="/console/referrals/{referral_id}"]').click()
    expect(page.get_by_role("heading", name="Referral for Ana Ruiz")).to_be_visible()
    expect(page.get_by_text("The AI's part")).to_be_visible()
    checked(page, axe, "referral")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_contain_text("accepted")
    view = console.gateway.get(f"/referrals/{referral_id}").json()  # the app that sent it
    inbox = next(d for d in view["deliveries"] if d["destination"] == "inbox")
    assert inbox["task"]["status"] == "accepted"
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_contain_text("completed")


def test_reject_asks_for_a_reason(console: Console, context: Any) -> None:
    referral_id = submit(console, "contract-example", triage_id=f"reject-{time.time_ns()}")
    delivered(console, referral_id)
    page = context.new_page()
    sign_in(page, console, "rita", f"/console/referrals/{referral_id}")
    page.get_by_label("Reason").fill("We do not serve this area")
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("rejected")


def test_a_recipient_cannot_open_what_is_not_addressed_to_it(
    console: Console, context: Any, axe: str
) -> None:
    referral_id = submit(console, "contract-example", triage_id=f"iso-{time.time_ns()}")
    delivered(console, referral_id)
    page = context.new_page()
    sign_in(page, console, "bea")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert referral_id not in page.content()
    response = page.goto(f"{console.url}/console/referrals/{referral_id}")
    assert response is not None and response.status == 404
    assert "Ana Ruiz" not in page.content()
    checked(page, axe, "not-found")
    forbidden = page.goto(f"{console.url}/console/crisis")
    assert forbidden is not None and forbidden.status == 403


def test_operator_signs_in_with_a_one_time_code(console: Console, context: Any, axe: str) -> None:
    referral_id = submit(console, "imminent-risk", triage_id=f"op-{time.time_ns()}")
    page = context.new_page()
    page.goto(console.url + "/console/dead-letters")
    assert page.url.startswith(console.url + "/console/login")
    checked(page, axe, "login")
    page.get_by_label("Username").fill("olive")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("One-time code")).to_be_visible()
    checked(page, axe, "login-code")
    page.goto(console.url + "/console/dead-letters")  # the password alone opens nothing
    assert "/console/login" in page.url
    sign_in(page, console, "olive", "/console/dead-letters")
    expect(page.get_by_role("heading", name="Dead letters")).to_be_visible()
    checked(page, axe, "dead-letters")
    page.goto(f"{console.url}/console/referrals/{referral_id}")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    checked(page, axe, "referral-operator")
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["console_session"]
    assert session["httpOnly"] and session["sameSite"] in ("Lax", "Strict")


def test_privacy_officer_looks_a_person_up(console: Console, context: Any, axe: str) -> None:
    submit(console, "contract-example", triage_id=f"pia-{time.time_ns()}")
    page = context.new_page()
    sign_in(page, console, "pia")
    expect(page.get_by_role("heading", name="People")).to_be_visible()
    page.get_by_label("Identifier").fill("https://app.example.org/patients|p-123")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("heading", name="Disclosures")).to_be_visible()
    expect(page.get_by_text("intact")).to_be_visible()
    checked(page, axe, "people")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download export").click()
    assert download.value.suggested_filename.endswith(".json")


def test_keyboard_alone_signs_in(console: Console, context: Any) -> None:
    page = context.new_page()
    page.goto(console.url + "/console/login")
    assert page.evaluate("document.activeElement.id") == "username"  # focused on arrival
    page.keyboard.type("rita")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


def test_five_wrong_passwords_lock_the_username(console: Console, context: Any) -> None:
    page = context.new_page()
    for _ in range(5):
        sign_in(page, console, "bea", password="not the password at all")
        expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
    sign_in(page, console, "bea")
    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
    other = context.browser.new_context().new_page()
    sign_in(other, console, "rita")
    expect(other.get_by_role("heading", name="Inbox")).to_be_visible()
    other.context.close()


@pytest.fixture
def foreign_site() -> Iterator[tuple[str, dict[str, str]]]:
    """Another origin serving whatever page the test puts in ``pages``."""
    pages: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", pages
    server.shutdown()
    server.server_close()


def test_a_post_from_another_origin_is_refused(
    console: Console, context: Any, foreign_site: tuple[str, dict[str, str]]
) -> None:
    origin, pages = foreign_site
    page = context.new_page()
    sign_in(page, console, "rita")
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    pages["/attack"] = (
        f'<form id="f" method="post" action="{console.url}/console/logout">'
        f'<input name="csrf_token" value="{token}"></form>'
        "<script>document.getElementById('f').submit()</script>"
    )
    with page.expect_response(re.compile(r".*/console/logout$")) as answer:
        page.goto(origin + "/attack")
    assert answer.value.status == 403
    page.goto(console.url + "/console/inbox")  # still signed in
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    tokenless = page.request.post(console.url + "/console/logout", form={"x": "1"})
    assert tokenless.status == 403


def test_sessions_end_when_idle_and_in_all(quick_console: Console, context: Any) -> None:
    page = context.new_page()
    sign_in(page, quick_console, "rita")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    time.sleep(3.5)
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page, quick_console, "rita", "/console/inbox")
    for _ in range(4):  # never idle, but 8 s in all
        time.sleep(2)
        page.reload()
    time.sleep(1)
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
