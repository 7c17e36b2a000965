"""The web client for someone who hears it through a screen reader and drives it with the
keyboard alone, in Debian's Chromium against hubbub: what such a person is told, beyond
what test_webclient_a11y_audit already covers (the log, the banner, the dialogs, the Tab
order).

What was missing: a private message, a mention, a knock or being removed from a channel
in a conversation not shown was only counted in a button's name, never said; a switch
made without moving the focus (Alt+arrows, Alt+digit, a /join) said nothing of where it
had gone; a member's rank was read as a symbol ("at alice") and their being away not at
all; the quick switcher's and the channel list's numbers came without words; the first
connection was announced as "Connected again."; every join was read as "right arrow
carol joined"; a nickname the server refused brought back the form with the focus on
Connect, away from the reason; scrolled up to read back, the lines said meanwhile (not
drawn, so not read out by the log) went untold, and the button to them did not say how
many.

What a screen reader would read out is taken, as in test_webclient_a11y_audit, as the
text added to a live region while it is rendered and not busy (its ANNOUNCER); names and
states come from Chromium's accessibility tree.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.helpers import sync  # noqa: E402
from tests.web.fixtures import away_while, reads_lobby  # noqa: E402
from tests.web.test_resilience import MAX_ROWS  # noqa: E402
from tests.web.test_webclient_a11y_audit import ANNOUNCER, ax_node, buffer_item, listen, said, said_count  # noqa: E402
from tests.web.test_webclient_missed import caught_up  # noqa: E402
from tests.web.wsclient import start_web_server  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def announced(page, start: int) -> list[str]:
    """What the page's own announcer (beside the log and the banner) said since `start`."""
    return [s["text"] for s in await said(page, start) if s["region"] == "announcer"]


def named(user, conversation: str, name: str):
    """The conversation list's button for `conversation` when its name is exactly `name`."""
    return buffer_item(user, conversation).get_by_role("button", name=name, exact=True)


async def test_a_private_message_a_mention_a_knock_and_a_kick_elsewhere_are_told(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#ops")  # first in #ops: its operator
    alice = await open_user()
    page = alice.page
    await listen(page)
    await alice.connect("alice", "#lobby #ops #club")  # #club is hers
    await alice.switch_to("#club")
    await alice.say("/mode +i")
    await expect(alice.messages()).to_contain_text("alice made #club invite-only (+i)")
    await carol.join("#lobby")
    await alice.switch_to("#lobby")
    await expect(page.locator("#member-list")).to_contain_text("carol")
    start = await said_count(page)
    carol.send("PRIVMSG #ops :an ordinary line")  # counted, not said
    carol.send("PRIVMSG #ops :alice: can you look at the logs?")
    carol.send("PRIVMSG alice :psst, a word in private")
    carol.send("PRIVMSG alice :\x01ACTION waves\x01")
    await sync(carol)
    await expect(named(alice, "carol", "carol, 2 unread, 2 mentioning you")).to_have_count(1)
    carol.send("KNOCK #club :let me in please")
    await expect(named(alice, "#club", "#club, 1 unread, 1 mentioning you")).to_have_count(1)
    carol.send("KICK #ops alice :take a break")
    await expect(named(alice, "#ops", "#ops, 2 unread, 1 mentioning you, left")).to_have_count(1)
    texts = await announced(page, start)
    knock = [t for t in texts if "asks to be invited" in t]
    assert len(knock) == 1 and knock[0].startswith("carol ("), texts
    assert knock[0].endswith("to #club: let me in please (/invite carol)"), texts
    assert [t for t in texts if t not in knock] == [
        "carol mentioned you in #ops: alice: can you look at the logs?",
        "carol, privately: psst, a word in private",
        "carol, privately: carol waves",
        "carol removed you from #ops (take a break)",
    ], texts
    assert not any("ordinary" in t for t in texts), texts
    # In the conversation shown, the log says it: the announcer does not say it twice.
    start = await said_count(page)
    carol.send("PRIVMSG #lobby :alice: and here")
    await expect(alice.messages()).to_contain_text("alice: and here")
    assert await announced(page, start) == []


async def test_many_messages_for_you_at_once_are_told_as_two_and_a_count(open_user, irc_user) -> None:
    alice = await open_user()
    page = alice.page
    await page.clock.install()
    await listen(page)
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol")
    await page.clock.pause_at((await page.evaluate("Date.now()") + 1000) / 1000)  # no frame, no timer
    start = await said_count(page)
    for i in range(5):
        carol.send(f"PRIVMSG alice :ping {i}")
    await page.wait_for_function(
        "() => (window.hubbub.state.buffer('carol')?.messages || []).filter((r) => r.kind === 'message').length === 5",
        polling=50)  # fmt: skip
    await page.clock.run_for(1000)  # one drawing for the five
    await expect(named(alice, "carol", "carol, 5 unread, 5 mentioning you")).to_have_count(1)
    assert await announced(page, start) == [
        "carol, privately: ping 0", "carol, privately: ping 1", "and 3 more messages for you",
    ]  # fmt: skip
    await page.clock.resume()


async def test_switching_with_the_keyboard_says_where_you_are_and_what_waits_there(open_user, irc_user) -> None:
    alice = await open_user()
    page = alice.page
    await listen(page)
    await alice.connect("alice", "#lobby #other")
    carol = await irc_user("carol", "#lobby", "#other")
    await alice.switch_to("#lobby")
    carol.send("PRIVMSG #other :one")
    carol.send("PRIVMSG #other :alice: two")
    await expect(named(alice, "#other", "#other, 2 unread, 1 mentioning you")).to_have_count(1)
    await expect(page.get_by_role("textbox", name="Message #lobby")).to_be_focused()
    start = await said_count(page)
    await page.keyboard.press("Alt+ArrowDown")  # the focus stays in the message box
    await expect(page.locator("#buffer-title")).to_have_text("#other")
    await expect(page.get_by_role("textbox", name="Message #other")).to_be_focused()
    await page.keyboard.press("Alt+1")
    await expect(page.locator("#buffer-title")).to_have_text("hubbub")
    await alice.say("/join #third")
    await expect(page.locator("#buffer-title")).to_have_text("#third")
    await expect(page.locator("#member-list")).to_contain_text("alice")
    assert await announced(page, start) == ["#other, 2 unread, 1 mentioning you", "hubbub, server messages", "#third"]
    # A switch that moves the focus (a click, a button, the quick switcher) is said by the
    # focus itself: the name of the message box it lands in.
    start = await said_count(page)
    await page.locator("#buffer-list .buffer", has_text="#lobby").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("textbox", name="Message #lobby")).to_be_focused()
    carol.send("PRIVMSG #other :three")
    await expect(named(alice, "#other", "#other, 1 unread")).to_have_count(1)
    await page.keyboard.press("Control+k")
    await expect(page.get_by_role("option", name="#other, 1 unread")).to_have_count(1)  # the number in words
    await page.keyboard.type("oth")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("textbox", name="Message #other")).to_be_focused()
    assert await announced(page, start) == []


async def test_members_are_named_with_their_rank_in_words_and_whether_they_are_away(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    await irc_user("dave", "#lobby")
    await alice.say("/voice dave")
    carol.send("AWAY :lunch")
    members = alice.page.get_by_role("complementary")
    await expect(members.get_by_role("button", name="carol, away", exact=True)).to_have_count(1)
    await expect(members.get_by_role("button", name="alice, operator", exact=True)).to_have_count(1)
    await expect(members.get_by_role("button", name="dave, voiced", exact=True)).to_have_count(1)


async def test_the_channel_list_says_its_numbers_are_users(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await irc_user("carol", "#lobby")
    await alice.say("/list")
    row = alice.page.locator("#list-results li", has_text="#lobby")
    await expect(row).to_have_count(1)
    # A retrying assertion: a snapshot taken once can catch the row before the dialog shows it.
    await expect(row).to_match_aria_snapshot('- listitem:\n  - text: "#lobby 2 users"')


async def test_the_marks_drawn_before_joins_and_on_buttons_are_not_read(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :\x01ACTION stretches\x01")
    carol.send("PART #lobby :off")
    await expect(alice.messages()).to_contain_text("carol left")
    log = await alice.messages().aria_snapshot()
    assert "carol joined" in log and "carol left" in log and "stretches" in log, log
    assert not any(mark in log for mark in "→←↔•"), log
    jump = alice.page.locator("#jump")
    await alice.page.evaluate("() => window.hubbub.view.showJump(true, false)")  # as when scrolled up
    await expect(jump).to_be_visible()
    node = await ax_node(alice.page, "#jump")
    assert node["name"] == "Newest", node


# The page's state holds a line whose text is exactly this (arg).
HOLDS = "(text) => window.hubbub.state.activeBuffer.messages.some((r) => r.text === text)"


async def scrolled_up(page) -> None:
    """Page Up twice from the message box: the newest line out of view, not followed."""
    await page.locator("#input").focus()
    await page.keyboard.press("PageUp")
    await page.keyboard.press("PageUp")
    await expect(page.locator("#jump")).to_have_text("↓ Newest")


async def test_scrolled_up_a_burst_below_is_told_once_by_count_and_at_the_bottom_lines_are_read_out(
    open_user, irc_user
) -> None:  # fmt: skip
    """Scrolled up, new lines are not drawn where the reader is, so the log does not read
    them out: the announcer says they are below, a burst once and by count, not line by
    line. Back at the newest, the log reads what is said, as before."""
    alice = await open_user()
    page = alice.page
    await page.clock.install()
    await listen(page)
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    dave = await irc_user("dave", "#lobby")
    await alice.say("/ignore dave")
    # More than the list keeps drawn, in one frame: drawn afresh from the bottom, and only
    # what comes after that is below.
    await page.clock.pause_at((await page.evaluate("Date.now()") + 1000) / 1000)
    for i in range(MAX_ROWS + 50):
        carol.send(f"PRIVMSG #lobby :earlier {i}")
    await page.wait_for_function(HOLDS, arg=f"earlier {MAX_ROWS + 49}", polling=50)
    await page.clock.run_for(1000)
    await page.clock.resume()
    await expect(alice.messages().locator(".row.message", has_text=f"earlier {MAX_ROWS + 49}")).to_be_in_viewport()
    await scrolled_up(page)
    await page.clock.pause_at((await page.evaluate("Date.now()") + 1000) / 1000)  # no frame, no timer
    start = await said_count(page)
    for i in range(3):
        dave.send(f"PRIVMSG #lobby :ignored {i}")
    await sync(dave)  # on its way to alice before carol's
    for i in range(5):
        carol.send(f"PRIVMSG #lobby :burst {i}")
    await page.wait_for_function(HOLDS, arg="burst 4", polling=50)
    await page.clock.run_for(3000)
    # One polite announcement naming the count (dave's lines not among them), not five.
    assert await announced(page, start) == ["5 new messages in #lobby below"]
    assert not [s for s in await said(page, start) if "burst" in s["text"]]
    assert (await ax_node(page, "#jump"))["name"] == "5 new messages"
    # More later: told again with the count brought up to date, once.
    carol.send("PRIVMSG #lobby :burst 5")
    await page.wait_for_function(HOLDS, arg="burst 5", polling=50)
    await page.clock.run_for(10000)
    assert await announced(page, start) == ["5 new messages in #lobby below", "6 new messages in #lobby below"]
    await expect(page.locator("#jump")).to_have_text("↓ 6 new messages")
    # Back at the newest before the next is told: it is not told; what follows is read
    # out by the log, as it always is there, and not said to be below.
    carol.send("PRIVMSG #lobby :burst 6")
    await page.wait_for_function(HOLDS, arg="burst 6", polling=50)
    await page.clock.run_for(100)
    await expect(page.locator("#jump")).to_have_text("↓ 7 new messages")
    start = await said_count(page)
    await page.evaluate("() => document.getElementById('jump').click()")
    carol.send("PRIVMSG #lobby :said at the bottom")
    await page.wait_for_function(HOLDS, arg="said at the bottom", polling=50)
    await page.clock.run_for(10000)
    await expect(page.locator("#jump")).to_be_hidden()
    texts = [s["text"] for s in await said(page, start) if s["region"] == "messages"]
    assert any("said at the bottom" in t for t in texts), texts
    assert await announced(page, start) == []
    await page.clock.resume()


async def test_a_line_below_is_not_told_once_one_has_gone_to_another_conversation(open_user, irc_user) -> None:
    """A line said in a conversation not shown is not told (unless it is for you): one
    waiting to be told below the window is dropped when one goes elsewhere."""
    alice = await open_user()
    page = alice.page
    await page.clock.install()
    await listen(page)
    await alice.connect("alice", "#lobby #other")
    carol = await irc_user("carol", "#lobby")
    await alice.switch_to("#lobby")
    for i in range(40):
        carol.send(f"PRIVMSG #lobby :earlier {i}")
    await expect(alice.messages().locator(".row.message", has_text="earlier 39")).to_be_in_viewport()
    await scrolled_up(page)
    await page.clock.pause_at((await page.evaluate("Date.now()") + 1000) / 1000)
    carol.send("PRIVMSG #lobby :said below")
    await page.wait_for_function(HOLDS, arg="said below", polling=50)
    await page.clock.run_for(100)  # drawn: counted below, not told yet
    await expect(page.locator("#jump")).to_have_text("↓ 1 new message")
    start = await said_count(page)
    await page.evaluate("() => document.querySelector('#buffer-list .buffer[data-key=\"#other\"]').click()")
    await page.clock.run_for(10000)
    await expect(page.locator("#buffer-title")).to_have_text("#other")
    assert not [t for t in await announced(page, start) if "below" in t]
    await page.clock.resume()


async def test_the_backlog_a_return_brings_is_not_told_below_and_a_live_line_after_it_is(open_user, irc_user) -> None:
    """Coming back to much missed, the view opens at the "New messages" line, scrolled up:
    the missed lines fetched under the window are counted on the button, not told as
    news below; a line said then is told, with them."""
    alice, carol = await reads_lobby(open_user, irc_user)
    page = alice.page
    await page.add_init_script(f"({ANNOUNCER})()")  # listening from the reload on
    await away_while(alice, carol, *[f"PRIVMSG #lobby :missed {i} of 80" for i in range(1, 81)])
    await page.wait_for_function(caught_up, arg=["#lobby"])
    await expect(page.locator("#messages .new-line")).to_be_in_viewport()
    await expect(page.locator("#jump")).to_have_text(re.compile(r"↓ \d+ new messages"))
    below = int((await page.locator("#jump").text_content() or "").split()[1])
    carol.send("PRIVMSG #lobby :said while up there")
    await page.wait_for_function("() => window.__said.some((s) => s.text.endsWith(' below'))")
    assert [t for t in await announced(page, 0) if "below" in t] == [f"{below + 1} new messages in #lobby below"]
    await expect(page.locator("#jump")).to_have_text(f"↓ {below + 1} new messages")


async def test_the_first_connection_is_not_announced_as_a_reconnection(open_user) -> None:
    alice = await open_user()
    await listen(alice.page)
    await alice.connect("alice", "#lobby")
    await expect(alice.page.locator("#banner")).to_be_hidden()
    banner = [s["text"] for s in await said(alice.page) if s["region"] == "banner"]
    assert not any("again" in t for t in banner), banner


async def test_a_nickname_the_server_refuses_brings_the_focus_to_the_field_with_the_reason(open_page) -> None:
    runtime = await start_web_server("limits.nicklen=9")
    try:
        alice = await open_page(runtime.web_url())
        await alice.page.fill("#connect-nick", "abcdefghijk")  # valid, too long here
        await alice.page.fill("#connect-channels", "#lobby")
        await alice.page.click("#connect-submit")
        try:
            await expect(alice.page.locator("#connect-error")).to_contain_text("The server refused the nickname")
            await expect(alice.page.locator("#connect-nick")).to_be_focused()
            node = await ax_node(alice.page, "#connect-nick")
            assert node.get("invalid") == "true", node
            assert "The server refused the nickname abcdefghijk" in node["description"], node
        finally:
            await alice.page.close()
    finally:
        await runtime.stop()
