"""What the browser tests share: Debian's Chromium driven by Playwright (a browser download fails here), one
persistent context per test module (`browser`; its waits give up after the module's BROWSER_TIMEOUT_MS), a
fresh page per test that signs in afresh (`page`), and where screenshots go (`screenshot_dir`: docs/screenshots
with UPDATE_SCREENSHOTS=1). tests/conftest.py makes the fixtures available to every test module."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from agent.settings import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: "
                                    "apt-get install -y chromium chromium-driver to run the browser tests")


@contextmanager
def chromium_context(timeout_ms: int) -> Iterator:
    """A Chinese-locale desktop browser whose every wait (and every `expect`) gives up after `timeout_ms`."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=timeout_ms)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="kb-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, locale="zh-CN",
            viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(timeout_ms)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def browser(request):
    with chromium_context(getattr(request.module, "BROWSER_TIMEOUT_MS", 30_000)) as context:
        yield context


@pytest.fixture
def page(browser):
    """A new page without the cookies of the test before: every test signs in afresh."""
    browser.clear_cookies()
    page = browser.new_page()
    yield page
    page.close()


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory) -> Path:
    screenshots = REPO_ROOT / "docs" / "screenshots"
    return screenshots if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path_factory.mktemp("screenshots")
