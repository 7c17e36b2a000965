"""A `/quit` ends the session of its own tab, in Debian's Chromium against hubbub.

The tab the person quit in shows the connect screen, and goes on showing it when
reloaded; another tab of the same browser still chatting resumes its session when
reloaded; a new tab opened meanwhile resumes too (a session of the browser goes on).
Once the last tab in a session has quit, a new tab starts at the connect screen.
"""

from __future__ import annotations

import pytest

pytest.importorskip("playwright")

from playwright.async_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def resumed(page: Page) -> None:
    """The session resumed by itself, #lobby joined again."""
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await page.wait_for_function("() => window.hubbub.state.buffer('#lobby')?.joined")


async def at_connect_screen(page: Page) -> None:
    """The connect screen, ready (the page decided at load not to resume)."""
    await expect(page.locator("#connect-fields")).to_be_visible()
    await expect(page.locator("#app")).to_be_hidden()
    assert await page.evaluate("() => window.hubbub === undefined")  # no session started


async def quit_in(page: Page) -> None:
    await page.fill("#input", "/quit")
    await page.press("#input", "Enter")
    await at_connect_screen(page)


async def test_a_quit_in_one_tab_leaves_the_other_tabs_sessions_going_on(open_user) -> None:
    alice = await open_user()
    first = alice.page
    await alice.connect("alice", "#lobby")

    async def new_tab() -> Page:
        page = await alice.context.new_page()
        page.on("console", lambda m: m.type == "error" and alice.errors.append(m.text))
        await page.goto(alice.url)
        return page

    second = await new_tab()
    await resumed(second)

    await quit_in(first)
    await first.reload()  # the tab that quit stays at the connect screen
    await at_connect_screen(first)

    third = await new_tab()  # a new tab while the second one's session goes on: resumed
    await resumed(third)
    await third.close()  # closed, not quit

    await second.reload()  # the other tab's session goes on
    await resumed(second)

    await quit_in(second)  # the last session in this browser
    fourth = await new_tab()
    await at_connect_screen(fourth)
    await first.reload()
    await at_connect_screen(first)
