"""Replies (+draft/reply) and reactions (+draft/react, +draft/unreact) in the web client,
in Debian's Chromium against hubbub, with carol a raw IRC client that speaks message-tags.

alice answers carol's message with Reply (the mouse, then the keyboard): the PRIVMSG that
reaches carol names carol's message by its msgid, and alice's line quotes it. carol's
reaction shows under her message as a chip, alice's own makes it count 2 (and a press on
her chip takes hers back); a reaction is no line and no unread message. After a reload,
what history brings shows the same.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.helpers import LineClient  # noqa: E402
from tests.web.fixtures import PHONE, BrowserUser, WebServer  # noqa: E402
from tests.web.test_webclient_phone import assert_fingers_fit, no_sideways_scroll  # noqa: E402
from tests.web.test_webclient_qa_reload import buffer_item  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def tagged_carol(web_server: WebServer) -> LineClient:
    """carol in #lobby, with message-tags (she sees client tags and msgids) and echo-message
    (she learns the msgid of what she says)."""
    carol = await LineClient.connect(web_server.runtime)
    carol.send("CAP REQ :message-tags echo-message server-time")
    carol.send("NICK carol")
    carol.send("USER u 0 * :Carol")
    await carol.expect("CAP")
    carol.send("CAP END")
    await carol.expect("001")
    carol.nick = "carol"
    await carol.join("#lobby")
    return carol


async def carol_says(carol: LineClient, text: str) -> str:
    """carol says `text` in #lobby; the msgid the server gave it."""
    carol.send(f"PRIVMSG #lobby :{text}")
    echo = await carol.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == text)
    return echo.tags["msgid"]


def from_alice(command: str):
    return lambda m: m.command == command and m.source is not None and m.source.startswith("alice!")


def row(alice: BrowserUser, text: str):
    """The message row whose own text (not a quote of it) is `text`."""
    said = alice.page.locator(":scope > .text", has_text=re.compile(rf"^{re.escape(text)}$"))
    return alice.messages().locator(".row.message").filter(has=said)


def chip(alice: BrowserUser, text: str, emoji: str):
    return row(alice, text).locator(".reaction", has_text=emoji)


async def test_a_reply_names_the_message_it_answers_and_quotes_it(web_server, open_user) -> None:
    carol = await tagged_carol(web_server)
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    lunch = await carol_says(carol, "lunch at noon?")
    await expect(row(alice, "lunch at noon?")).to_be_visible()

    # Reply on the message hovered: the box says what it answers; Esc cancels
    await row(alice, "lunch at noon?").hover()
    await row(alice, "lunch at noon?").get_by_role("button", name="Reply", exact=True).click()
    await expect(page.locator("#replying")).to_have_text(re.compile(r"Replying to carol: lunch at noon\?"))
    await expect(page.locator("#input")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.locator("#replying")).to_be_hidden()
    await alice.say("not a reply")
    plain = await carol.expect(from_alice("PRIVMSG"))
    assert "+draft/reply" not in plain.tags, plain.tags
    await expect(row(alice, "not a reply")).to_be_visible()

    # Reply from the keyboard: ↑ to the message in the list, Tab to Reply
    await page.locator("#messages").focus()
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowUp")
    await expect(row(alice, "lunch at noon?")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(row(alice, "lunch at noon?").get_by_role("button", name="Reply", exact=True)).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#replying")).to_have_text(re.compile(r"Replying to carol: lunch at noon\?"))
    await alice.say("yes, at the usual place")
    answer = await carol.expect(from_alice("PRIVMSG"))
    assert answer.params[-1] == "yes, at the usual place"
    assert answer.tags.get("+draft/reply") == lunch, answer.tags
    await expect(page.locator("#replying")).to_be_hidden()

    # alice's line quotes carol's; the quote goes to it
    mine = row(alice, "yes, at the usual place")
    await expect(mine.locator(".quote")).to_have_text(re.compile(r"carol\s+lunch at noon\?"))
    await mine.locator(".quote").click()
    await expect(row(alice, "lunch at noon?")).to_be_focused()

    # carol's reply to something alice never loaded
    carol.send("@+draft/reply=not-loaded-here PRIVMSG #lobby :as I said")
    await expect(row(alice, "as I said").locator(".quote")).to_have_text(re.compile("a reply to an earlier message"))


async def test_reactions_show_as_chips_counted_once_a_person_and_are_no_message(web_server, open_user) -> None:
    carol = await tagged_carol(web_server)
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    page = alice.page
    await alice.switch_to("#lobby")
    party = await carol_says(carol, "the party is on")
    await expect(row(alice, "the party is on")).to_be_visible()
    lines = await alice.messages().locator(".row").count()

    carol.send(f"@+draft/reply={party};+draft/react=👍 TAGMSG #lobby")
    carol.send(f"@+draft/reply={party};+draft/react=👍 TAGMSG #lobby")  # twice: counted once
    thumbs = chip(alice, "the party is on", "👍")
    await expect(thumbs).to_have_text(re.compile(r"👍\s*1"))
    await expect(thumbs).to_have_attribute("title", "carol")
    await expect(thumbs).to_have_attribute("aria-pressed", "false")

    # alice reacts with the keyboard: ↑ to the message, Tab to React, the picker's 👍
    await page.locator("#messages").focus()
    await page.keyboard.press("ArrowUp")
    await expect(row(alice, "the party is on")).to_be_focused()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    react = row(alice, "the party is on").get_by_role("button", name="React", exact=True)
    await expect(react).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(row(alice, "the party is on").get_by_role("button", name="React with 👍")).to_be_focused()
    await page.keyboard.press("Enter")
    sent = await carol.expect(from_alice("TAGMSG"))
    assert (sent.params, sent.tags.get("+draft/react"), sent.tags.get("+draft/reply")) == (["#lobby"], "👍", party)
    await expect(thumbs).to_have_text(re.compile(r"👍\s*2"))
    await expect(thumbs).to_have_attribute("title", "carol, alice")
    await expect(thumbs).to_have_attribute("aria-pressed", "true")
    await expect(thumbs).to_have_accessible_name(re.compile(r"^👍 2: carol, alice"))
    assert await alice.messages().locator(".row").count() == lines  # no line for a reaction

    # alice's own chip takes hers back (+draft/unreact); carol's other emoji adds a chip
    await thumbs.click()
    taken = await carol.expect(from_alice("TAGMSG"))
    assert (taken.tags.get("+draft/unreact"), taken.tags.get("+draft/reply")) == ("👍", party), taken.tags
    await expect(thumbs).to_have_text(re.compile(r"👍\s*1"))
    await expect(thumbs).to_have_attribute("aria-pressed", "false")
    carol.send(f"@+draft/reply={party};+draft/react=🎉 TAGMSG #lobby")
    await expect(chip(alice, "the party is on", "🎉")).to_have_text(re.compile(r"🎉\s*1"))
    # a press on carol's chip adds alice's
    await chip(alice, "the party is on", "🎉").click()
    await expect(chip(alice, "the party is on", "🎉")).to_have_text(re.compile(r"🎉\s*2"))

    # looking elsewhere: a reaction is no unread message
    await alice.switch_to("#other")
    carol.send(f"@+draft/reply={party};+draft/react=😮 TAGMSG #lobby")
    carol.send("PRIVMSG #lobby :and a message")
    await expect(buffer_item(alice, "#lobby").locator(".badge")).to_have_text("1")


async def test_after_a_reload_history_brings_the_chips_and_the_quotes(web_server, open_user) -> None:
    carol = await tagged_carol(web_server)
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    cake = await carol_says(carol, "I baked a cake")
    await expect(row(alice, "I baked a cake")).to_be_visible()
    carol.send(f"@+draft/reply={cake};+draft/react=❤️ TAGMSG #lobby")
    carol.send(f"@+draft/reply={cake} PRIVMSG #lobby :a chocolate one")
    await expect(chip(alice, "I baked a cake", "❤️")).to_have_text(re.compile(r"❤️\s*1"))
    await row(alice, "I baked a cake").hover()
    await row(alice, "I baked a cake").get_by_role("button", name="React", exact=True).click()
    await row(alice, "I baked a cake").get_by_role("button", name="React with 🎉").click()
    await expect(chip(alice, "I baked a cake", "🎉")).to_have_text(re.compile(r"🎉\s*1"))
    await expect(row(alice, "a chocolate one").locator(".quote")).to_have_text(re.compile(r"carol\s+I baked a cake"))

    await page.reload()
    await expect(row(alice, "a chocolate one")).to_be_visible()
    await expect(chip(alice, "I baked a cake", "❤️")).to_have_text(re.compile(r"❤️\s*1"))
    await expect(chip(alice, "I baked a cake", "🎉")).to_have_attribute("aria-pressed", "true")
    await expect(row(alice, "a chocolate one").locator(".quote")).to_have_text(re.compile(r"carol\s+I baked a cake"))
    # the reactions that came back are no lines either
    await expect(alice.messages().locator(".row.message")).to_have_count(2)


async def test_on_a_phone_a_tap_on_a_message_offers_its_actions_big_enough_for_a_finger(web_server, open_user) -> None:
    carol = await tagged_carol(web_server)
    alice = await open_user(viewport=PHONE, touch=True)
    await alice.connect("alice", "#lobby")
    page = alice.page
    long = "soup is ready" + ", soup is ready" * 7
    soup = await carol_says(carol, long)
    carol.send(f"@+draft/reply={soup};+draft/react=😂 TAGMSG #lobby")
    carol.send(f"@+draft/reply={soup} PRIVMSG #lobby :come and get it")
    said = row(alice, "come and get it")
    await expect(said.locator(".quote")).to_be_visible()
    await expect(row(alice, long).locator(".reaction")).to_be_visible()
    reply = said.get_by_role("button", name="Reply", exact=True)
    box = await said.bounding_box()
    assert box is not None
    # nothing hovers on a touch screen, even where the page's pointer happens to be (the
    # Connect button's place, once: a row drawn under it showed its actions untouched)
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await expect(reply).to_be_hidden()
    await said.locator(".text").tap()
    await expect(reply).to_be_visible()
    await assert_fingers_fit(page, "#messages")
    await no_sideways_scroll(page)
    await reply.tap()
    await expect(page.locator("#replying")).to_be_visible()
    await assert_fingers_fit(page, ".composer")
