"""A live gateway with console accounts, and one headless Chromium for the whole session."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, axe_script
from harness import base_config
from live_gateway import (
    GATEWAY,
    ROOT,
    GatewayFiles,
    LiveGateway,
    serving_gateway,
    write_gateway_files,
)

PASSWORD = "correct horse battery staple"
SHOTS = ROOT / "docs" / "console"


def console_config(keys: dict[str, Any], **console: Any) -> dict[str, Any]:
    config = base_config(keys)
    config["destinations"].append({"name": "clinic-b", "type": "inbox"})
    config["routing"].insert(
        0, {"name": "to-b", "when": {"pathway": ["self-care"]}, "send_to": ["clinic-b"]}
    )
    config["console"] = {"poll_seconds": 1, **console}
    return config


def add_user(files: GatewayFiles, username: str, role: str, *destinations: str) -> str | None:
    """``gateway users add`` as an operator would run it; the TOTP secret when one is set."""
    args = [str(GATEWAY), "users", "add", username, "--role", role, "--password-stdin"]
    for name in destinations:
        args += ["--destination", name]
    done = subprocess.run(args, cwd=ROOT, env=files.env(), input=PASSWORD + "\n",
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"secret=([A-Z2-7]+)", done.stdout)
    return found.group(1) if found else None


@dataclass
class Console:
    gateway: LiveGateway
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.gateway.url

    def code(self, username: str) -> str:
        return pyotp.TOTP(self.secrets[username]).now()


USERS = (
    ("olive", "operator"), ("cara", "crisis-responder", "crisis-desk"),
    ("rita", "recipient", "inbox"), ("bea", "recipient", "clinic-b"),
    ("pia", "privacy-officer"),
)


def _start(directory: Path, users: tuple[tuple[str, ...], ...] = USERS,
           **console: Any) -> Iterator[Console]:
    files = write_gateway_files(
        directory, lambda keys: console_config(keys, **console),
        f"sqlite+aiosqlite:///{directory}/gateway.db",
    )
    secrets = {}
    for username, role, *destinations in users:
        secret = add_user(files, username, role, *destinations)
        if secret:
            secrets[username] = secret
    with serving_gateway(files) as gateway:
        yield Console(gateway, secrets)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from _start(tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="module")
def quick_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """Sessions that end after 3 s idle and 8 s in all."""
    yield from _start(
        tmp_path_factory.mktemp("quick"), (("rita", "recipient", "inbox"),),
        idle_timeout_seconds=3, absolute_timeout_seconds=8,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running while
    the session's browser is open, which the asyncio tests must not find."""
    here = Path(__file__).parent
    items.sort(key=lambda item: here in item.path.parents)  # stable: order kept otherwise


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: `make test` installs it (package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe() -> str:
    return axe_script()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile (cookies, storage) per test, in the one shared browser."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()
