"""The README's console tour: `make run`'s configuration creates no account; the tour
adds two with `gateway users add`, runs `gateway demo`, and opens the crisis desk and
the inbox in a browser."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from harness import new_key
from live_gateway import GATEWAY, ROOT, GatewayFiles, serving_gateway
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _run(files: GatewayFiles, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([str(GATEWAY), *args], cwd=ROOT, env=files.env(), input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_tour_adds_accounts_and_opens_the_desk_and_the_inbox(
    tmp_path: Path, context: Any
) -> None:
    signing_key = tmp_path / "signing-key.pem"
    signing_key.write_bytes(new_key("gateway-1").as_pem(private=True))
    files = GatewayFiles(tmp_path, ROOT / "examples" / "gateway.yaml", signing_key,
                         f"sqlite+aiosqlite:///{tmp_path}/tour.db", {})
    with serving_gateway(files) as gateway:
        assert "no console accounts" in _run(files, "users", "list")
        _run(files, "users", "add", "desk", "--role", "crisis-responder", "--destination",
             "crisis-desk", "--password-stdin", stdin="a long desk password\n")
        _run(files, "users", "add", "clinic", "--role", "recipient", "--destination", "inbox",
             "--password-stdin", stdin="a long clinic password\n")
        _run(files, "demo", "--url", gateway.url)
        page = context.new_page()
        for username, path, heading in (("desk", "/console/crisis", "Crisis desk"),
                                        ("clinic", "/console/inbox", "Inbox")):
            page.goto(gateway.url + path)
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(f"a long {username} password")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
            if username == "desk":
                expect(page.get_by_role("button", name="Acknowledge").first).to_be_visible()
                page.get_by_role("button", name="Sign out").click()
            else:
                expect(page.get_by_role("link", name="Referral for").first).to_be_visible()
