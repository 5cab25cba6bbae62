"""Browser fixtures: Debian's Chromium once per test module, a fresh watched page per test, and a folder of
screenshots named at the end of the run. Registered as pytest fixtures by tests/conftest.py."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser_support import DESKTOP, TABLET, launch_chromium, screenshot, watched_page

SCREENSHOTS_ENV = "BTMS_SCREENSHOTS"  # keep the screenshots in this folder rather than pytest's tmp


@pytest.fixture(scope="module")
def browser():
    """Per module, not per session: between its calls Playwright's sync API marks its event loop as the
    thread's running loop, so every later test's asyncio.run() would fail while it stays open."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A 1366×768 page; at teardown the test fails on a request off the gateway or a script error."""
    with watched_page(browser, DESKTOP) as (page, watch):
        yield page
    watch.check()


@pytest.fixture
def tablet_page(browser):
    """As `page`, on a 1024×768 touch screen."""
    with watched_page(browser, TABLET) as (page, watch):
        yield page
    watch.check()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory, pytestconfig) -> Path:
    chosen = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    pytestconfig.stash[_SCREENSHOTS_KEY] = folder
    return folder


@pytest.fixture
def shoot(screenshot_dir) -> Callable:
    """shoot(page, name): the whole page as a PNG in the run's screenshot folder."""
    return lambda page, name: screenshot(page, name, screenshot_dir)


_SCREENSHOTS_KEY = pytest.StashKey[Path]()


def pytest_terminal_summary(terminalreporter, config) -> None:
    folder = config.stash.get(_SCREENSHOTS_KEY, None)
    if folder is not None and any(folder.glob("*.png")):
        terminalreporter.write_line(f"screenshots: {folder}")
