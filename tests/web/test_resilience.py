"""The client under strain: a server restart, 10,000 messages, a phone, the dark."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.helpers import sync
from tests.web.fixtures import PHONE

pytestmark = pytest.mark.asyncio(loop_scope="session")

# While the server is down, a browser may report its refused WebSocket in the console
# by itself (no script can stop it): expected here, and only here.
REFUSED_WEBSOCKET = r"WebSocket connection to .* failed"
# The message list's DOM bound, as the client declares it.
MESSAGELIST = Path(__file__).resolve().parents[2] / "hubbub" / "web" / "js" / "messagelist.js"
MAX_ROWS = int(re.search(r"export const MAX_ROWS = (\d+)", MESSAGELIST.read_text()).group(1))


async def test_reconnects_after_a_server_restart_and_rejoins(open_user, irc_user, web_server) -> None:
    alice = await open_user()
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    await alice.connect("alice", "#lobby #other")
    await alice.switch_to("#lobby")
    page = alice.page
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered")

    # The server stays down until the banner has said so: restarted at once, the client
    # (its first retry within a second) could be back before the banner was looked at.
    await web_server.runtime.stop()
    await expect(page.locator("#banner")).to_be_visible()
    await expect(page.locator("#banner-text")).to_contain_text("Reconnecting")
    await web_server.restart()
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered", timeout=20_000)
    # The member list was emptied when the connection dropped: "@alice" again is the NAMES
    # of the rejoin on the new server, so carol comes after alice (who is op, as first in).
    await expect(page.locator("#member-list li")).to_have_text(["@alice"])
    await expect(page.locator("#banner")).to_be_hidden()

    carol = await irc_user("carol", "#lobby")  # a user of the new server
    await expect(page.locator("#member-list li")).to_have_text(["@alice", "carol"])
    carol.send("PRIVMSG #lobby :welcome back")
    await expect(alice.messages()).to_contain_text("welcome back")
    await alice.say("glad to be back")
    await carol.expect("PRIVMSG", "#lobby", "glad to be back")
    # every channel was rejoined, and the buffer kept what was said before
    await alice.switch_to("#other")
    await expect(page.locator("#member-list li")).to_have_text(["@alice"])
    await expect(page.locator("#buffer-list li.parted")).to_have_count(0)


async def test_reconnect_now_button_and_closed_state(open_user, web_server) -> None:
    alice = await open_user()
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    page = alice.page
    # The page's clock stands still from before the server stops until the click: the
    # client's own retry (a timer, due within a second) cannot reconnect first and hide the
    # button, and the reconnection that follows is the button's. Frames are a timer too:
    # run_for draws them without reaching the retry.
    await page.clock.install()
    await alice.connect("alice", "#lobby")
    # (pause_at takes seconds; the page's clock must not have passed it when the call arrives)
    await page.clock.pause_at((await page.evaluate("Date.now()") + 1000) / 1000)
    await web_server.runtime.stop()
    await page.wait_for_function("() => window.hubbub.client.status === 'waiting'", polling=50)
    await page.clock.run_for(100)
    await expect(page.locator("#reconnect-now")).to_be_visible()
    await web_server.restart()
    await page.click("#reconnect-now")
    await page.wait_for_function("() => window.hubbub.client.status === 'registered'", polling=50)
    await page.clock.resume()
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered")


async def test_a_reload_resumes_the_session(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/join #second")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#second")
    await alice.page.reload()
    # nick and channels were remembered: no connect screen, both channels rejoined
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#buffer-list")).to_contain_text("#second")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :still there?")
    await alice.switch_to("#lobby")
    await expect(alice.messages()).to_contain_text("still there?")
    # the password was not asked to be remembered, so it is not stored
    stored = await alice.page.evaluate("localStorage.getItem('hubbub.settings')")
    assert '"nick":"alice"' in stored and "password" not in stored.replace('"usesPassword":false', "")


async def test_ten_thousand_messages_keep_the_page_bounded(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#flood")
    carol = await irc_user("carol", "#flood")
    # In bursts of 500, each sent once the page has shown the one before: one burst of
    # 10,000 lines, or bursts paced by the sender alone, could outrun a browser slowed by
    # a busy machine by more than its sendq, and the server would rightly drop it.
    messages = alice.messages()
    for burst in range(20):
        for i in range(burst * 500, burst * 500 + 500):
            carol.send(f"PRIVMSG #flood :message {i:05d}")
        await sync(carol)
        last = messages.locator(".row", has_text=f"message {burst * 500 + 499:05d}")
        await expect(last).to_be_visible(timeout=30_000)
    newest = messages.locator(".row", has_text="message 09999")
    await expect(newest).to_be_visible(timeout=30_000)
    await expect(newest).to_be_in_viewport()
    rows = await messages.locator(".row").count()
    assert rows <= MAX_ROWS + 5, rows  # the DOM holds a window, not the whole buffer

    # Scrolling back renders older messages from memory, still within the bound.
    for _ in range(15):
        await messages.evaluate("el => el.scrollTop = 0")
        await alice.page.wait_for_timeout(50)
    assert await messages.locator(".row").count() <= MAX_ROWS + 5
    first = await messages.locator(".row .text").first.text_content()
    assert first is not None and first < "message 09000", first
    await expect(alice.page.locator("#jump")).to_be_visible()

    # New messages do not yank the reader down; the jump button brings them back.
    carol.send("PRIVMSG #flood :one more")
    await expect(alice.page.locator("#jump")).to_have_text("↓ 1 new message")
    await alice.page.click("#jump")
    await expect(messages.locator(".row", has_text="one more")).to_be_in_viewport()
    # and the input still answers
    await alice.say("still here")
    await carol.expect("PRIVMSG", "#flood", "still here", timeout=10)


async def test_phone_width_layout(open_user, irc_user) -> None:
    alice = await open_user(viewport=PHONE)
    await alice.connect("alice", "#lobby #other")
    carol = await irc_user("carol", "#lobby")
    page = alice.page
    sidebar = page.locator("#sidebar")
    members = page.locator("#members")
    # the lists are off screen, out of the tab order; the messages and input fill the width
    assert not await sidebar.is_visible() or not await sidebar.evaluate(_on_screen)
    assert await sidebar.evaluate("el => el.inert")
    assert not await members.evaluate(_on_screen)
    box = await page.locator("#input").bounding_box()
    assert box is not None and box["width"] > 250
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]

    carol.send("PRIVMSG #lobby :" + "a long line that must wrap on a phone " * 6)
    await expect(alice.messages()).to_contain_text("must wrap")
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    assert await alice.messages().evaluate("el => el.scrollWidth <= el.clientWidth")
    await alice.say("typed on a phone")
    await carol.expect("PRIVMSG", "#lobby", "typed on a phone")

    await page.click("#toggle-buffers")
    await expect(sidebar).to_be_in_viewport()
    assert await sidebar.evaluate(_on_screen)
    await page.locator("#buffer-list .buffer", has_text="#other").click()
    await expect(page.locator("#buffer-title")).to_have_text("#other")
    await expect(page.locator("#scrim")).to_be_hidden()

    await page.click("#toggle-members")
    await expect(members).to_be_in_viewport()
    await page.keyboard.press("Escape")
    await expect(page.locator("#scrim")).to_be_hidden()
    assert await members.evaluate("el => el.inert")


_on_screen = "el => { const r = el.getBoundingClientRect(); return r.right > 1 && r.left < innerWidth - 1; }"


async def test_dark_theme_follows_the_system(open_user) -> None:
    light = await open_user(color_scheme="light")
    dark = await open_user(color_scheme="dark")
    background = "getComputedStyle(document.body).backgroundColor"
    assert await light.page.evaluate(background) == "rgb(255, 255, 255)"
    assert await dark.page.evaluate(background) != "rgb(255, 255, 255)"
    await dark.connect("alice", "#lobby")
    assert await dark.page.evaluate("getComputedStyle(document.querySelector('.chat')).color") != "rgb(28, 32, 38)"
