"""A conversation with much missed opens where the reader left off, in Debian's Chromium
against hubbub.

Coming back to a conversation (a reload, a reconnection, or switching to it) whose first
missed message would be above the view opened at the bottom, the view opens with the
"New messages" line near its top, as Slack and Discord do, and does not follow new
messages until the reader scrolls down to them; with little missed it opens at the
bottom as before. From a message with the focus, Home and End go to the first message
loaded and to the newest.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.web.fixtures import away_while, caught_up, cut_off_while, reads_lobby  # noqa: E402
from tests.web.test_webclient_unread import first_row_after_the_line  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCROLL_TO_BOTTOM = "() => { const m = document.getElementById('messages'); m.scrollTop = m.scrollHeight; }"
# How many of the missed lines are under the window: not wholly in view, or not drawn.
MISSED_BELOW = """(count) => {
  const bottom = document.getElementById('messages').getBoundingClientRect().bottom;
  const rows = [...document.querySelectorAll('#messages .row.message')].filter((r) => r.textContent.includes('missed'));
  return count - rows.filter((r) => r.getBoundingClientRect().bottom <= bottom).length;
}"""


async def missed_while_away(open_user, irc_user, count: int):
    """alice reads #lobby, closes the tab, carol says `count` lines there, alice comes back."""
    alice, carol = await reads_lobby(open_user, irc_user)
    await away_while(alice, carol, *[f"PRIVMSG #lobby :missed {i} of {count}" for i in range(1, count + 1)])
    await expect(alice.page.locator("#buffer-title")).to_have_text("#lobby")
    await alice.page.wait_for_function(caught_up, arg=["#lobby"])
    return alice, carol


def row(alice, text: str):
    return alice.messages().locator(".row", has_text=text)


async def test_much_missed_opens_at_the_new_messages_line(open_user, irc_user) -> None:
    alice, carol = await missed_while_away(open_user, irc_user, 80)
    page = alice.page
    line = page.locator("#messages .new-line")
    await expect(line).to_be_in_viewport()
    await expect(row(alice, "missed 80 of 80")).not_to_be_in_viewport()
    assert (await first_row_after_the_line(page) or "").endswith("missed 1 of 80")
    await expect(page.locator("#input")).to_be_focused()  # the focus did not move
    await expect(page.locator("#jump")).to_be_visible()  # as when scrolled up: the way down
    # Not following: a new line is said to be below, not scrolled to.
    carol.send("PRIVMSG #lobby :said while up there")
    await expect(page.locator("#jump")).to_have_text(re.compile(r"↓ \d+ new messages"))
    await expect(row(alice, "said while up there")).to_have_count(0)  # not drawn: below the window
    await expect(line).to_be_in_viewport()


async def test_opened_at_the_line_the_button_says_how_many_missed_are_below(open_user, irc_user) -> None:
    """Opened at the line, what was missed under the window is new to the reader: the
    button to the newest counts it (not "↓ Newest"), and a line said then adds to it."""
    alice, carol = await missed_while_away(open_user, irc_user, 80)
    page = alice.page
    await expect(page.locator("#messages .new-line")).to_be_in_viewport()
    below = await page.evaluate(MISSED_BELOW, 80)
    assert 1 < below < 80, below
    await expect(page.locator("#jump")).to_have_text(f"↓ {below} new messages")
    carol.send("PRIVMSG #lobby :said while up there")
    await expect(page.locator("#jump")).to_have_text(f"↓ {below + 1} new messages")
    await page.locator("#jump").click()
    await expect(row(alice, "said while up there")).to_be_in_viewport()
    await expect(page.locator("#jump")).to_be_hidden()


async def test_the_count_on_the_button_goes_down_as_the_reader_reads_down(open_user, irc_user) -> None:
    """Scrolling down through what was missed, the button counts what is still under
    the window; scrolling back up does not count again what was read."""
    alice, carol = await missed_while_away(open_user, irc_user, 80)
    page = alice.page
    jump = page.locator("#jump")
    await expect(page.locator("#messages .new-line")).to_be_in_viewport()
    below = await page.evaluate(MISSED_BELOW, 80)
    await expect(jump).to_have_text(f"↓ {below} new messages")
    await page.evaluate("() => { document.getElementById('messages').scrollTop += 300; }")
    fewer = await page.evaluate(MISSED_BELOW, 80)
    assert 0 < fewer < below, (fewer, below)
    await expect(jump).to_have_text(f"↓ {fewer} new messages")
    await page.evaluate("() => { document.getElementById('messages').scrollTop -= 300; }")
    await expect(page.locator("#messages .new-line")).to_be_in_viewport()
    await page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    await expect(jump).to_have_text(f"↓ {fewer} new messages")  # read already
    carol.send("PRIVMSG #lobby :said while up there")
    await expect(jump).to_have_text(f"↓ {fewer + 1} new messages")


async def test_gone_to_the_line_with_shift_page_up_the_button_says_how_many_are_below(open_user, irc_user) -> None:
    """Shift+Page Up to the line counts what is under the window on the button to the
    newest, as opening there does (not "↓ Newest"): the missed lines and those said after
    them, counted once however often one goes there."""
    alice, carol = await missed_while_away(open_user, irc_user, 80)
    page = alice.page
    line = page.locator("#messages .new-line")
    jump = page.locator("#jump")
    await expect(line).to_be_in_viewport()
    await page.evaluate(SCROLL_TO_BOTTOM)  # read down to the newest: following again
    await expect(jump).to_be_hidden()
    carol.send("PRIVMSG #lobby :said at the bottom")
    await expect(row(alice, "said at the bottom")).to_be_in_viewport()

    await page.keyboard.press("Shift+PageUp")
    await expect(line).to_be_in_viewport()
    await expect(row(alice, "missed 1 of 80")).to_be_focused()
    below = await page.evaluate(MISSED_BELOW, 80)
    assert 1 < below < 80, below
    await expect(jump).to_have_text(f"↓ {below + 1} new messages")  # and the line said after them
    carol.send("PRIVMSG #lobby :said while up there")
    await expect(jump).to_have_text(f"↓ {below + 2} new messages")
    # Down a little and back to the line: the same lines, not counted twice.
    await page.evaluate("() => { document.getElementById('messages').scrollTop += 200; }")
    await expect(line).not_to_be_in_viewport()
    await page.keyboard.press("Shift+PageUp")
    await expect(line).to_be_in_viewport()
    below = await page.evaluate(MISSED_BELOW, 80)
    await expect(jump).to_have_text(f"↓ {below + 2} new messages")
    await jump.click()
    await expect(row(alice, "said while up there")).to_be_in_viewport()
    await expect(jump).to_be_hidden()


async def test_scrolled_down_to_the_newest_it_follows_again(open_user, irc_user) -> None:
    alice, carol = await missed_while_away(open_user, irc_user, 80)
    page = alice.page
    await expect(page.locator("#messages .new-line")).to_be_in_viewport()
    await page.evaluate(SCROLL_TO_BOTTOM)
    await expect(row(alice, "missed 80 of 80")).to_be_in_viewport()
    await expect(page.locator("#jump")).to_be_hidden()
    carol.send("PRIVMSG #lobby :said once down there")
    await expect(row(alice, "said once down there")).to_be_in_viewport()


async def test_little_missed_opens_at_the_bottom_and_much_at_the_line_on_switching(open_user, irc_user) -> None:
    alice, carol = await reads_lobby(open_user, irc_user, "#lobby #other")
    page = alice.page
    await alice.switch_to("#other")
    carol.send("PRIVMSG #other :read there too")
    await expect(alice.messages()).to_contain_text("read there too")
    lobby = [f"PRIVMSG #lobby :missed {i} of 80" for i in range(1, 81)]
    await away_while(alice, carol, *lobby, *[f"PRIVMSG #other :missed {i} of 3" for i in range(1, 4)])
    await expect(page.locator("#buffer-title")).to_have_text("#other")
    await page.wait_for_function(caught_up, arg=["#lobby", "#other"])
    # Three missed: all of it in view at the bottom, following new messages as always.
    line = page.locator("#messages .new-line")
    await expect(line).to_be_in_viewport()
    await expect(row(alice, "missed 3 of 3")).to_be_in_viewport()
    await expect(page.locator("#jump")).to_be_hidden()
    carol.send("PRIVMSG #other :said at the bottom")
    await expect(row(alice, "said at the bottom")).to_be_in_viewport()
    # Eighty: switched to, it opens at the line.
    await alice.switch_to("#lobby")
    await expect(line).to_be_in_viewport()
    assert (await first_row_after_the_line(page) or "").endswith("missed 1 of 80")
    await expect(row(alice, "missed 80 of 80")).not_to_be_in_viewport()


async def test_a_reconnection_with_much_missed_opens_at_the_line(open_user, irc_user) -> None:
    alice, carol = await reads_lobby(open_user, irc_user)
    page = alice.page
    alice.allowed_errors.append(r"WebSocket")
    line = page.locator("#messages .new-line")
    for n in (1, 2):  # twice: the second comes after the first line was read past
        await cut_off_while(alice, carol, *[f"PRIVMSG #lobby :missed {i} of 80, return {n}" for i in range(1, 81)])
        await page.wait_for_function(caught_up, arg=["#lobby"])
        await expect(row(alice, f"missed 80 of 80, return {n}")).to_have_count(1)
        await expect(line).to_be_in_viewport()
        assert (await first_row_after_the_line(page) or "").endswith(f"missed 1 of 80, return {n}")
        await expect(row(alice, f"missed 80 of 80, return {n}")).not_to_be_in_viewport()
        await alice.say(f"read it all, {n}")  # read past: the line goes, the view to the newest
        await expect(line).to_have_count(0)
        await expect(row(alice, f"read it all, {n}")).to_be_in_viewport()


async def test_home_and_end_go_to_the_first_message_loaded_and_the_newest(open_user, irc_user) -> None:
    alice, _ = await missed_while_away(open_user, irc_user, 80)
    page = alice.page
    await alice.messages().focus()
    await page.keyboard.press("ArrowUp")  # a message in view, the focus on it
    await page.wait_for_function("() => document.activeElement.classList.contains('row')")
    await page.keyboard.press("Home")
    await page.wait_for_function("() => document.activeElement === document.querySelector('#messages .row')")
    await expect(page.locator("#messages .history-status")).to_have_text("Beginning of the conversation")
    await expect(page.locator("#messages .history-status")).to_be_in_viewport()
    await page.keyboard.press("End")
    last = "() => { const rows = document.querySelectorAll('#messages .row'); return rows[rows.length - 1]; }"
    await page.wait_for_function(f"() => document.activeElement === ({last})()")
    await expect(row(alice, "missed 80 of 80")).to_be_in_viewport()  # the newest, alice's rejoin under it
