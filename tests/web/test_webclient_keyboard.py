"""The web client with the keyboard alone, in Debian's Chromium against hubbub: what the
screen-reader pass (test_webclient_screenreader) left out.

What was missing: no key went to the "New messages" line a return leaves above what was
missed, however far up it was; a search result switched to its conversation but not to
the message, which might not even be loaded; a nick in the messages answered a click
only, so that a keyboard could not address its author; and the typing line was a live
region, so that a screen reader broke into the conversation each time someone started
typing.

What a screen reader would be told is taken as in test_webclient_a11y_audit (its
ANNOUNCER); names come from Chromium's accessibility tree.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.helpers import sync  # noqa: E402
from tests.web.fixtures import away_while, reads_lobby  # noqa: E402
from tests.web.test_browser_daily import PLACE_AFTER, ROW_TOP, a_long_conversation  # noqa: E402
from tests.web.test_webclient_a11y_audit import ax_node, listen, said, said_count  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Rows that were given the class "found" (the highlight of a message gone to), whenever
# and however briefly: recorded as it happens, so that no test races the highlight's end.
WATCH_FOUND = """() => {
  window.__found = [];
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.target.classList.contains("found")) window.__found.push(r.target.querySelector(".text").textContent);
    }
  }).observe(document.getElementById("messages"), { subtree: true, attributeFilter: ["class"] });
}"""


# Whether the text of the message with the focus ends with `end` (the row says its time after it).
FOCUSED_ENDS = "(end) => document.activeElement.querySelector('.text').textContent.endsWith(end)"


async def announced(page, start: int) -> list[str]:
    return [s["text"] for s in await said(page, start) if s["region"] == "announcer"]


async def focused_row_name(page) -> str:
    """The accessible name of the message row that has the focus."""
    assert await page.evaluate("() => document.activeElement.classList.contains('row')")
    return (await ax_node(page, "#messages .row[tabindex]"))["name"]


async def test_shift_page_up_goes_to_the_new_messages_line_and_says_so_where_there_is_none(open_user, irc_user) -> None:
    alice, carol = await reads_lobby(open_user, irc_user)
    page = alice.page
    await listen(page)
    start = await said_count(page)
    await page.keyboard.press("Shift+PageUp")  # a live session: no line
    await expect(page.locator("#announcer")).to_contain_text("No new messages in #lobby.")
    assert await announced(page, start) == ["No new messages in #lobby."]
    await expect(page.locator("#input")).to_be_focused()

    # More than a screen: the line is out of sight on coming back (to #lobby).
    await away_while(alice, carol, *[f"PRIVMSG #lobby :missed {i:02d}" for i in range(60)])
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await expect(alice.messages()).to_contain_text("missed 59")
    line = page.locator("#messages .new-line")
    await expect(line).to_have_count(1)
    await expect(line).to_be_in_viewport()  # opened where alice left off
    await expect(page.locator("#input")).to_be_focused()
    await page.evaluate("() => { const m = document.getElementById('messages'); m.scrollTop = m.scrollHeight; }")
    await expect(line).not_to_be_in_viewport()  # scrolled down to the newest: out of sight

    await page.keyboard.press("Shift+PageUp")
    await expect(line).to_be_in_viewport()
    await page.wait_for_function(FOCUSED_ENDS, arg="missed 00")
    name = await focused_row_name(page)
    assert re.fullmatch(r"carol: missed 00, \d\d?:\d\d( [AP]M)?", name), name
    # From there, ↓ goes on to the next message missed.
    await page.keyboard.press("ArrowDown")
    await page.wait_for_function(FOCUSED_ENDS, arg="missed 01")

    await page.locator("#help-button").click()
    keys = page.locator("#help-dialog .keys")
    await expect(keys).to_contain_text("Shift+Page UpGo to the “New messages” line")


async def test_up_and_down_go_through_the_messages_and_enter_addresses_the_author(open_user, irc_user) -> None:
    alice = await open_user()
    page = alice.page
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    dave = await irc_user("dave", "#lobby")
    carol.send("PRIVMSG #lobby :first from carol")
    await sync(carol)
    dave.send("PRIVMSG #lobby :\x01ACTION waves\x01")
    await expect(alice.messages()).to_contain_text("dave waves")
    # One Tab stop for the whole list, nicks included: it comes right before the box.
    await page.keyboard.press("Shift+Tab")
    await expect(alice.messages()).to_be_focused()
    # (a message's Reply and React buttons are Tab stops only once it is gone to)
    tab_stops = "() => [...document.querySelectorAll('#messages *')].filter((e) => e.tabIndex >= 0).length"
    assert await page.evaluate(tab_stops) == 0
    node = await ax_node(page, "#messages")  # what a screen reader says on coming to it
    assert node["name"] == "Messages" and node["description"].startswith("Up and Down arrows go from message"), node

    await page.keyboard.press("ArrowUp")  # from the list: the last message in view
    await page.wait_for_function(FOCUSED_ENDS, arg="dave waves")
    assert (await focused_row_name(page)).startswith("dave waves, ")
    await page.keyboard.press("ArrowUp")
    await page.wait_for_function(FOCUSED_ENDS, arg="first from carol")
    assert (await focused_row_name(page)).startswith("carol: first from carol, ")
    # roving: only the row on (and its own buttons, next in the Tab order)
    only_its_own = f"() => {tab_stops[6:]} === document.activeElement.querySelectorAll('button').length"
    assert await page.evaluate(only_its_own)
    assert await alice.messages().locator(".row[tabindex]").count() == 1
    await page.keyboard.press("ArrowDown")
    await page.wait_for_function(FOCUSED_ENDS, arg="dave waves")
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("Enter")  # as a click on carol's nick
    await expect(page.locator("#input")).to_be_focused()
    await expect(page.locator("#input")).to_have_value("carol: ")
    assert await page.evaluate(tab_stops) == 0  # left: no Tab stop stays behind
    assert await alice.messages().locator(".row[tabindex]").count() == 0

    # Esc from a message goes back to the box too.
    await alice.messages().focus()
    await page.keyboard.press("ArrowUp")
    await page.wait_for_function("() => document.activeElement.classList.contains('row')")
    await page.keyboard.press("Escape")
    await expect(page.locator("#input")).to_be_focused()

    await page.locator("#help-button").click()
    keys = page.locator("#help-dialog .keys")
    await expect(keys).to_contain_text("↑ ↓ in the messagesFrom message to message")
    await expect(keys).to_contain_text("Enter on a messageIts author’s nick into the message box")


async def test_a_search_result_goes_to_the_message_fetching_it_when_it_is_not_loaded(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#kept")
    carol.send("PRIVMSG #kept :the word is xylophone")
    for i in range(250):  # the page loads the newest 100: the word is far back
        carol.send(f"PRIVMSG #kept :kept message {i:03d}")
    await sync(carol)
    alice = await open_user()
    page = alice.page
    await alice.connect("alice", "#kept")
    await expect(alice.messages()).to_contain_text("kept message 249")
    await page.evaluate(WATCH_FOUND)
    assert await alice.messages().get_by_text("the word is xylophone").count() == 0

    await page.fill("#search-input", "xylophone")
    await page.press("#search-input", "Enter")
    result = page.locator("#search-results .result")
    await expect(result).to_contain_text("the word is xylophone")
    await result.click()
    await expect(page.locator("#search-dialog")).to_be_hidden()
    row = alice.messages().locator(".row", has_text="the word is xylophone")
    await expect(row).to_be_in_viewport()
    await expect(row).to_be_focused()  # a screen reader reads it out
    assert (await focused_row_name(page)).startswith("carol: the word is xylophone, ")
    found = await page.evaluate("() => window.__found")
    assert any(t.endswith("the word is xylophone") for t in found), found
    await expect(row).not_to_have_class(re.compile(r"\bfound\b"))  # briefly
    await expect(page.locator("#jump")).to_be_visible()  # not following the newest there

    # Enter on a result (a button) does the same; this one was loaded all along.
    await page.fill("#search-input", "message 120")
    await page.press("#search-input", "Enter")
    await expect(result).to_contain_text("kept message 120")
    await result.focus()
    await page.keyboard.press("Enter")
    row = alice.messages().locator(".row", has_text="kept message 120")
    await expect(row).to_be_focused()
    await expect(row).to_be_in_viewport()


async def test_the_typing_line_is_not_read_out(open_user, irc_user) -> None:
    alice = await open_user()
    page = alice.page
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    dave = await irc_user("dave", "#lobby")
    await expect(page.locator("#member-list")).to_contain_text("dave")
    await listen(page)
    start = await said_count(page)
    typing = page.locator("#typing")
    carol.send("@+typing=active TAGMSG #lobby")
    await expect(typing).to_have_text("carol is typing…")
    dave.send("@+typing=active TAGMSG #lobby")
    await expect(typing).to_have_text("carol and dave are typing…")
    carol.send("@+typing=done TAGMSG #lobby")
    dave.send("@+typing=done TAGMSG #lobby")
    await expect(typing).to_have_text("")
    carol.send("@+typing=active TAGMSG #lobby")
    await expect(typing).to_have_text("carol is typing…")
    carol.send("PRIVMSG #lobby :done typing")
    await expect(alice.messages()).to_contain_text("done typing")
    texts = [s["text"] for s in await said(page, start)]
    assert not any("typing…" in t for t in texts), texts
    assert any("carol: done typing" in t for t in texts), texts  # the message itself is read out
    node = await ax_node(page, "#typing")
    assert node.get("live") in (None, "off"), node  # on screen, readable at will


async def test_a_redraw_leaves_the_focus_on_the_message_that_had_it(open_user, irc_user) -> None:
    """The conversation drawn again (a page of history placed among what it shows) leaves
    a keyboard or screen-reader user on the message they were on, or on its button,
    following or scrolled up, and the window where it was; a message no longer drawn
    leaves the focus on the list."""
    alice, _, newest = await a_long_conversation(open_user, irc_user)
    page = alice.page

    def row(text: str):
        return alice.messages().locator(".row.message", has_text=text)

    # Following the conversation, on a message.
    await alice.messages().focus()
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowUp")
    await expect(row("line 138")).to_be_focused()
    assert await page.evaluate(PLACE_AFTER, ["line 049", "placed while following"]) == 1
    await expect(row("placed while following")).to_have_count(1)
    await expect(row("line 138")).to_be_focused()
    assert (await focused_row_name(page)).startswith("carol: line 138, ")
    await expect(newest).to_be_in_viewport()
    # On its Reply button.
    await page.keyboard.press("Tab")
    reply = row("line 138").locator(".act.reply")
    await expect(reply).to_be_focused()
    assert await page.evaluate(PLACE_AFTER, ["line 049", "placed while on its button"]) == 1
    await expect(row("placed while on its button")).to_have_count(1)
    await expect(reply).to_be_focused()
    # On an emoji of its open picker: the picker is open again, on the same emoji.
    await page.keyboard.press("Tab")
    react = row("line 138").locator(".act.react")
    await expect(react).to_be_focused()
    emojis = row("line 138").locator(".picker button")
    await page.keyboard.press("Enter")
    await expect(emojis.first).to_be_focused()
    await page.keyboard.press("Escape")  # closed: back on React
    await expect(row("line 138").locator(".picker")).to_have_count(0)
    await expect(react).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(emojis.first).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(emojis.nth(1)).to_be_focused()
    label = await emojis.nth(1).get_attribute("aria-label")
    assert await page.evaluate(PLACE_AFTER, ["line 049", "placed while in its picker"]) == 1
    await expect(row("placed while in its picker")).to_have_count(1)
    await expect(row("line 138").locator(f'.picker button[aria-label="{label}"]')).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(row("line 138").locator(".picker")).to_have_count(0)
    await expect(react).to_be_focused()

    # Scrolled far up, the message is not drawn again: the list has the focus, not the
    # page, and the window stays.
    await page.evaluate("() => { document.getElementById('messages').scrollTop = 0; }")
    await expect(page.locator("#messages .history-status")).to_have_text("Beginning of the conversation")
    top = await page.evaluate(ROW_TOP, "line 005")
    assert await page.evaluate(PLACE_AFTER, ["line 049", "placed far from it"]) == 1
    await expect(row("placed far from it")).to_have_count(1)
    await expect(alice.messages()).to_be_focused()
    await expect(row("line 138")).to_have_count(0)
    assert abs(await page.evaluate(ROW_TOP, "line 005") - top) < 1

    # Scrolled up, on a message in view: it keeps the focus, where it was on screen.
    await page.keyboard.press("ArrowUp")  # from the list: the last message in view
    await page.wait_for_function("() => document.activeElement.classList.contains('message')")
    name = await focused_row_name(page)
    text = await page.evaluate("() => document.activeElement.querySelector('.text').textContent")
    top = await page.evaluate(ROW_TOP, text)
    assert await page.evaluate(PLACE_AFTER, ["line 049", "placed while scrolled up"]) == 1
    await expect(row("placed while scrolled up")).to_have_count(1)
    await expect(row(text)).to_be_focused()
    assert await focused_row_name(page) == name
    assert abs(await page.evaluate(ROW_TOP, text) - top) < 1
    await expect(newest).not_to_be_in_viewport()
    await page.keyboard.press("ArrowUp")  # and goes on from there
    await page.wait_for_function(
        "(text) => document.activeElement.nextElementSibling.querySelector('.text').textContent === text", arg=text
    )
