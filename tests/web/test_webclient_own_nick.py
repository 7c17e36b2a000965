"""The web client's own nick is the one the server gives, in Debian's Chromium against
hubbub: a registered nick used without its password is refused when registration
completes (`accounts.enforce = refuse`: the 001 names the nick the page took instead)
or taken back later (`rename`: a guest nick). Either way the page shows the nick the
server knows it by, its own messages are its own under that nick, and others mentioning
that nick mention it.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from hubbub.app import Runtime  # noqa: E402
from tests.helpers import LineClient, connected  # noqa: E402
from tests.web.wsclient import start_web_server  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def account_left_behind(runtime: Runtime, nick: str) -> None:
    """The account `nick` registered, and its owner gone: the nick is free but reserved."""
    owner = await connected(runtime, nick)
    owner.send(f"PRIVMSG NickServ :REGISTER {nick}-secret-words")
    await owner.expect("900")
    owner.send("QUIT :bye")
    await owner.closed()


async def said_by(carol: LineClient, text: str) -> str:
    """The nick of whoever carol saw say `text` in #lobby."""
    said = await carol.expect(lambda m: m.command == "PRIVMSG" and m.params == ["#lobby", text])
    return (said.source or "").split("!")[0]


async def test_a_registered_nick_refused_at_registration_leaves_the_page_with_the_nick_it_got(open_page) -> None:
    runtime = await start_web_server("accounts.enforce=refuse")
    try:
        await account_left_behind(runtime, "erin")
        carol = await connected(runtime, "carol", "#lobby")
        erin = await open_page(runtime.web_url())
        page = erin.page
        await erin.connect("erin", "#lobby")
        await expect(page.locator("#nick-label")).to_have_text("erin_")
        await expect(page.locator("#member-list li")).to_have_text(["carol", "erin_"])
        await erin.say("hello from the web")
        assert await said_by(carol, "hello from the web") == "erin_"
        mine = erin.messages().locator(".row.self", has_text="hello from the web")
        await expect(mine.locator(".nick")).to_have_text("erin_")
        carol.send("PRIVMSG #lobby :erin_: welcome")
        await expect(erin.messages().locator(".row.mention")).to_contain_text("welcome")
        # a reload asks for the nick again, is refused again, and follows again
        await page.reload()
        await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
        await expect(page.locator("#nick-label")).to_have_text("erin_")
        # back in #lobby (a reload waits on the server buffer until the channel is joined again)
        await expect(page.locator("#buffer-title")).to_have_text("#lobby")
        await erin.say("back again")
        assert await said_by(carol, "back again") == "erin_"
        await expect(erin.messages().locator(".row.self", has_text="back again")).to_have_count(1)
        await page.close()
        await carol.close()
    finally:
        await runtime.stop()


async def test_a_registered_nick_taken_back_by_the_server_is_followed_to_its_guest_nick(open_page) -> None:
    runtime = await start_web_server("accounts.enforce_after=0.5")
    try:
        await account_left_behind(runtime, "erin")
        carol = await connected(runtime, "carol", "#lobby")
        erin = await open_page(runtime.web_url())
        page = erin.page
        await erin.connect("erin", "#lobby")
        renamed = await carol.expect("NICK")
        guest = renamed.params[0]
        assert (renamed.source or "").startswith("erin!") and re.fullmatch(r"Guest\d{5}", guest)
        await expect(page.locator("#nick-label")).to_have_text(guest)
        await expect(page.locator("#member-list li")).to_have_text(["carol", guest])
        await erin.say("who am I now")
        assert await said_by(carol, "who am I now") == guest
        mine = erin.messages().locator(".row.self", has_text="who am I now")
        await expect(mine.locator(".nick")).to_have_text(guest)
        carol.send(f"PRIVMSG #lobby :{guest}: you are")
        await expect(erin.messages().locator(".row.mention")).to_contain_text("you are")
        await page.close()
        await carol.close()
    finally:
        await runtime.stop()
