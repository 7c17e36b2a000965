"""Whatever people send is shown as text; the page runs only its own scripts.

Payloads try the usual ways in: markup in a message, a topic, a realname (shown by
WHOIS), a channel name (shown like a nick in the buffer list, title and LIST), quit
and part reasons and a server-style notice. Each must appear as the literal text, with
no element made from it, no dialog and no script run (`window.__xss` stays unset).
"""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

IMG = "<img src=x onerror=window.__xss=1;alert(1)>"
SCRIPT = "<script>window.__xss=2;alert(2)</script>"
SVG = "<svg/onload=window.__xss=3>"
LINK = "javascript:window.__xss=4"
# A channel name cannot hold spaces or commas, but markup without them fits.
EVIL_CHANNEL = "#<svg/onload=alert(5)>"


async def assert_nothing_ran(page) -> None:
    assert await page.evaluate("window.__xss") is None
    # no element the payloads would have made, anywhere in the page
    made = ("#app img", "#app script", "#app svg[onload]", "#app iframe", "dialog img", "a[href^='javascript']")
    for selector in made:
        assert await page.locator(selector).count() == 0, selector


async def test_markup_in_messages_topics_realnames_and_names_is_text(open_user, irc_user) -> None:
    mallory = await irc_user("mallory", "#lobby", realname=IMG)  # first in: channel operator
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    mallory.send(f"PRIVMSG #lobby :{IMG} {SCRIPT} {SVG} <a href=\"{LINK}\">click</a> {LINK}")
    mallory.send(f"TOPIC #lobby :{SCRIPT}")
    mallory.send(f"PRIVMSG #lobby :\x01ACTION {IMG}\x01")
    mallory.send(f"NOTICE alice :{SVG}")
    messages = alice.messages()
    await expect(messages).to_contain_text(f"{IMG} {SCRIPT} {SVG} <a href=\"{LINK}\">click</a> {LINK}")
    await expect(alice.page.locator("#topic")).to_have_text(SCRIPT)
    await expect(messages.locator(".row.action")).to_contain_text(f"mallory {IMG}")
    await expect(messages.locator(".row.notice")).to_contain_text(SVG)

    await alice.say("/whois mallory")
    await expect(messages.locator(".row.whois").first).to_have_text(re.compile(re.escape(f"({IMG})")))

    mallory.send(f"JOIN {EVIL_CHANNEL}")
    mallory.send(f"TOPIC {EVIL_CHANNEL} :{IMG}")
    # its own channel's TOPIC: the #lobby one above may still be unread, and flood
    # pacing can hold this one back past alice's LIST
    await mallory.expect("TOPIC", EVIL_CHANNEL)
    await alice.page.click("#browse-button")
    row = alice.page.locator("#list-results li", has_text=EVIL_CHANNEL)
    await expect(row).to_contain_text(IMG)
    await row.get_by_role("button").click()
    await expect(alice.page.locator("#buffer-title")).to_have_text(EVIL_CHANNEL)
    await expect(alice.page.locator("#buffer-list")).to_contain_text(EVIL_CHANNEL)
    await expect(alice.page.locator("#topic")).to_have_text(IMG)
    await expect(alice.page).to_have_title(f"{EVIL_CHANNEL} · hubbub")

    mallory.send(f"PART {EVIL_CHANNEL} :{SVG}")
    await expect(alice.messages().locator(".chip.part")).to_have_text(f"mallory left ({SVG})")
    await alice.switch_to("#lobby")
    mallory.send(f"QUIT :{IMG}")
    await expect(alice.messages().locator(".chip.quit")).to_contain_text(IMG)
    await assert_nothing_ran(alice.page)
    assert alice.dialogs == []


async def test_pages_are_served_with_a_strict_content_security_policy(web_server) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("", "app.css", "js/main.js"):
            async with http.get(web_server.url + path) as response:
                assert response.status == 200
                csp = response.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
                assert "frame-ancestors 'none'" in csp
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.headers["Referrer-Policy"] == "no-referrer"
        async with http.get(web_server.url + "js/main.js") as response:
            assert "javascript" in response.headers["Content-Type"]


async def test_an_inline_script_would_be_refused(open_user) -> None:
    """The policy is in force in the page: a script element made at run time does not run."""
    alice = await open_user()
    alice.allowed_errors.append("Content Security Policy")  # the refusal is reported, as it should be
    await alice.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__xss = 9'; "
        "document.body.append(s); }"
    )
    assert await alice.page.evaluate("window.__xss") is None


async def test_markup_cannot_be_a_nick_and_odd_nicks_show_as_text(open_user, irc_user) -> None:
    """A nick cannot hold markup (the server refuses `<`, `>`, spaces, quotes...), and the
    characters it may hold that mean something to HTML or to a regex are shown as they are."""
    mallory = await irc_user("mallory", "#lobby")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    mallory.send("NICK <img/src=x>")
    assert (await mallory.expect("432")).params[1] == "<img/src=x>"
    odd = "[m]a{l}`o^r|y\\"
    mallory.send(f"NICK {odd}")
    await mallory.expect("NICK")
    await expect(alice.messages()).to_contain_text(f"mallory is now {odd}")
    await expect(alice.page.locator("#member-list")).to_contain_text(odd)
    mallory.send(f"PRIVMSG #lobby :{SVG}")
    await expect(alice.messages().locator(".row.message").last).to_contain_text(SVG)
    await assert_nothing_ran(alice.page)
