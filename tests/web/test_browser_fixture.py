"""The browser the web tests share opens nothing but the pages they ask for.

A context of a headless Chromium used to load the omnibox's popups (two WebUI pages in
renderers of their own) with every window; tests/web/fixtures.py turns them off, which
halved what a browser test costs. Should a new Chromium rename those features, the
flags would silently stop working and the suite would slow down by half again: this
test says so instead.
"""

from __future__ import annotations

import pytest

pytest.importorskip("playwright")

from playwright.async_api import Browser  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_new_context_opens_only_its_page(browser: Browser) -> None:
    session = await browser.new_browser_cdp_session()
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto("about:blank")
        found = await session.send("Target.getTargets")
        urls = sorted(target["url"] for target in found["targetInfos"])
        assert urls == ["about:blank"], urls
    finally:
        await context.close()
        await session.detach()
