"""What the browser tests share: Debian's Chromium driven by Playwright (a browser download fails here), one
persistent context per test module, and a fresh page per test that signs in afresh."""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

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


def fresh_page(context) -> Iterator:
    """A new page without the cookies of the test before: every test signs in afresh."""
    context.clear_cookies()
    page = context.new_page()
    yield page
    page.close()
