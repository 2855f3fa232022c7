"""Live consoles for the browser tests, and one headless Chromium for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, axe_script
from console_live import Console, start_console


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from start_console(tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="module")
def quick_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """Sessions that end after 3 s idle and 8 s in all."""
    yield from start_console(
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
