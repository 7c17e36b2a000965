"""Chatting in the browser against a real hubbub: two browser users and a raw IRC user."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.helpers import sync
from tests.web.wsclient import start_web_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_two_browser_users_and_an_irc_user_talk(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    carol = await irc_user("carol", "#lobby")

    await alice.say("hello from alice")
    await expect(bob.messages()).to_contain_text("hello from alice")
    await carol.expect("PRIVMSG", "#lobby", "hello from alice")

    carol.send("PRIVMSG #lobby :hi, I am carol")
    await expect(alice.messages()).to_contain_text("hi, I am carol")
    await expect(bob.messages()).to_contain_text("hi, I am carol")
    # alice made the channel: she is its operator, and everyone is listed
    await expect(bob.page.locator("#member-list")).to_contain_text("@alice")
    await expect(bob.page.locator("#member-count")).to_have_text("3 members")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "bob", "carol"])


async def test_formatting_actions_and_links_are_rendered(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :\x02bold\x02 \x0304,01red on black\x03 \x1ditalic\x1d \x1funder\x1f plain")
    carol.send("PRIVMSG #lobby :\x01ACTION waves\x01")
    carol.send("PRIVMSG #lobby :see https://example.org/page?a=1, not javascript:alert(1) nor data:text/html,x")
    messages = alice.messages()
    await expect(messages.locator(".b")).to_have_text("bold")
    await expect(messages.locator(".fg-4.bg-1")).to_have_text("red on black")
    await expect(messages.locator(".i")).to_have_text("italic")
    await expect(messages.locator(".u")).to_have_text("under")
    await expect(messages.locator(".row.action")).to_contain_text("carol waves")
    links = messages.locator("a")
    await expect(links).to_have_count(1)
    await expect(links).to_have_attribute("href", "https://example.org/page?a=1")
    await expect(links).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(links).to_have_attribute("target", "_blank")
    await expect(messages).to_contain_text("not javascript:alert(1) nor data:text/html,x")


async def test_private_messages_mentions_and_unread_counts(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    carol = await irc_user("carol", "#lobby", "#other")
    await alice.switch_to("#other")
    carol.send("PRIVMSG #lobby :just chatting")
    carol.send("PRIVMSG #lobby :alice, are you there?")
    carol.send("PRIVMSG alice :a secret")
    buffers = alice.page.locator("#buffer-list")
    lobby = buffers.locator("li", has_text="#lobby")
    await expect(lobby.locator(".badge")).to_have_text("2")
    await expect(lobby.locator(".badge.mention")).to_have_count(1)
    query = buffers.locator("li", has_text="carol")
    await expect(query.locator(".badge.mention")).to_have_text("1")
    await expect(alice.page).to_have_title(re.compile(r"^\(2\) "))
    await alice.switch_to("#lobby")
    await expect(lobby.locator(".badge")).to_have_text("")
    await expect(alice.messages().locator(".row.mention")).to_contain_text("alice, are you there?")
    await alice.switch_to("carol")
    await expect(alice.messages()).to_contain_text("a secret")
    await alice.say("a reply")
    await carol.expect("PRIVMSG", "carol", "a reply")
    await expect(alice.page).to_have_title(re.compile(r"^carol · hubbub$"))


async def test_slash_commands(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    page = alice.page

    await alice.say("/join #second")
    await expect(page.locator("#buffer-title")).to_have_text("#second")
    await alice.say("/topic  a fine topic ")
    await expect(page.locator("#topic")).to_have_text("a fine topic")
    await alice.say("/me stretches")
    await alice.switch_to("#lobby")
    await alice.say("/me waves at carol")
    await carol.expect("PRIVMSG", "#lobby", "\x01ACTION waves at carol\x01")
    await alice.say("/msg carol psst")
    await carol.expect("PRIVMSG", "carol", "psst")
    await expect(page.locator("#buffer-title")).to_have_text("carol")
    await alice.say("/whois carol")
    await expect(alice.messages().locator(".row.whois").first).to_contain_text("carol is ~u@127.0.0.1 (Real Name)")
    await alice.say("/away out for lunch")
    await expect(page.locator("#nick-label")).to_have_text("alice (away)")
    await alice.say("/away")
    await expect(page.locator("#nick-label")).to_have_text("alice")
    await alice.say("/nick alice2")
    await expect(page.locator("#nick-label")).to_have_text("alice2")
    await carol.expect("NICK", "alice2")
    await alice.switch_to("#second")
    await alice.say("/part")
    await expect(page.locator("#buffer-list li.parted")).to_have_text(re.compile("#second"))
    await alice.say("/close")
    await expect(page.locator("#buffer-list")).not_to_contain_text("#second")
    await alice.say("/frobnicate")
    await expect(alice.messages().locator(".row.error").last).to_contain_text("Unknown command /frobnicate")
    await alice.say("//slash at the start")
    await expect(alice.messages()).to_contain_text("/slash at the start")
    # /quit reloads the page back to the connect screen; wait for that load, or it may
    # happen after the server has stopped (a console error: connection refused).
    async with page.expect_event("load"):
        await alice.say("/quit gone fishing")
    await carol.expect("QUIT", "Quit: gone fishing")
    await expect(page.locator("#connect")).to_be_visible()
    await expect(page.locator("#app")).to_be_hidden()
    await expect(page.locator("#connect-nick")).to_have_value("alice2")


async def test_tab_completion_and_input_history(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await irc_user("carol", "#lobby")
    await irc_user("caroline", "#lobby")
    page = alice.page
    await expect(page.locator("#member-list li")).to_have_count(3)
    await page.fill("#input", "ca")
    await page.press("#input", "Tab")
    await expect(page.locator("#input")).to_have_value("carol: ")
    await page.press("#input", "Tab")
    await expect(page.locator("#input")).to_have_value("caroline: ")
    # said to a screen reader too, which does not read a value a script set
    await expect(page.locator("#announcer")).to_contain_text("carol: (1 of 2)")
    await expect(page.locator("#announcer")).to_contain_text("caroline: (2 of 2)")
    await page.type("#input", "hi")
    await page.press("#input", "Enter")
    await page.fill("#input", "/jo")
    await page.press("#input", "Tab")
    await expect(page.locator("#input")).to_have_value("/join ")
    await page.fill("#input", "")
    await page.press("#input", "ArrowUp")
    await expect(page.locator("#input")).to_have_value("caroline: hi")
    await page.press("#input", "ArrowDown")
    await expect(page.locator("#input")).to_have_value("")
    # With nothing to complete, Tab leaves the box (focus order is not trapped)
    await page.press("#input", "Tab")
    await expect(page.locator("#input")).not_to_be_focused()


async def test_typing_indicators_are_shown_and_sent(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol")
    carol.send("CAP REQ :message-tags")
    await carol.expect("CAP")
    await carol.join("#lobby")
    carol.send("@+typing=active TAGMSG #lobby")
    await expect(alice.page.locator("#typing")).to_have_text("carol is typing…")
    carol.send("PRIVMSG #lobby :done")
    await expect(alice.page.locator("#typing")).to_have_text("")
    await alice.page.type("#input", "hel")
    msg = await carol.expect("TAGMSG", "#lobby")
    assert msg.tags.get("+typing") == "active"
    await alice.page.fill("#input", "")
    await alice.page.type("#input", "x")  # within 3 s of the last: not sent again
    await alice.page.fill("#input", "")
    await alice.page.dispatch_event("#input", "input")
    msg = await carol.expect("TAGMSG", "#lobby")  # cleared: "done", once the 3 s have passed
    assert msg.tags.get("+typing") == "done"
    assert not [m for m in await sync(carol) if m.command == "TAGMSG"]


async def test_multiline_paste_is_one_message(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    dave = await irc_user("dave", "#lobby")  # no draft/multiline: gets the lines one by one
    await alice.page.fill("#input", "first line\nsecond line\n\nfourth line")
    await alice.page.press("#input", "Enter")
    last = bob.messages().locator(".row.message .text").last
    await expect(last).to_have_text(re.compile("first line\nsecond line\n\nfourth line$"))
    await expect(bob.messages().locator(".row.message")).to_have_count(1)
    for text in ("first line", "second line", "fourth line"):
        await dave.expect("PRIVMSG", "#lobby", text)


async def test_a_notice_of_several_lines_is_one_notice(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    dave = await irc_user("dave", "#lobby")  # no draft/multiline: gets NOTICE lines one by one
    await alice.page.fill("#input", "/notice #lobby build failed:\ntest_a\ntest_b")
    await alice.page.press("#input", "Enter")
    notices = bob.messages().locator(".row.notice")
    await expect(notices.last.locator(".text")).to_have_text("build failed:\ntest_a\ntest_b")
    await expect(notices).to_have_count(1)
    await expect(bob.messages().locator(".row.message")).to_have_count(0)
    for text in ("build failed:", "test_a", "test_b"):
        await dave.expect("NOTICE", "#lobby", text)


async def test_channel_list_browser(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#busy", "#quiet")
    carol.send("TOPIC #busy :where everyone is")
    await irc_user("dave", "#busy")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    await page.click("#browse-button")
    dialog = page.locator("#list-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#list-results li").first).to_contain_text("#busy")
    await expect(dialog.locator("#list-results li").first).to_contain_text("where everyone is")
    await page.fill("#list-filter", "qui")
    await expect(dialog.locator("#list-results li")).to_have_count(1)
    await dialog.get_by_role("button", name="Join #quiet").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#buffer-title")).to_have_text("#quiet")
    await expect(page.locator("#member-list")).to_contain_text("carol")


async def test_keyboard_switching(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#a #b #c")
    page = alice.page
    await expect(page.locator("#buffer-list li")).to_have_count(4)
    await expect(page.locator("#buffer-title")).to_have_text("#a")
    await page.keyboard.press("Alt+ArrowDown")
    await expect(page.locator("#buffer-title")).to_have_text("#b")
    await page.keyboard.press("Alt+ArrowUp")
    await page.keyboard.press("Alt+ArrowUp")
    await expect(page.locator("#buffer-title")).to_have_text("hubbub")
    await page.keyboard.press("Alt+4")
    await expect(page.locator("#buffer-title")).to_have_text("#c")
    await page.keyboard.press("Control+k")
    await expect(page.locator("#switch-dialog")).to_be_visible()
    await page.keyboard.type("#b")
    await page.keyboard.press("Enter")
    await expect(page.locator("#switch-dialog")).to_be_hidden()
    await expect(page.locator("#buffer-title")).to_have_text("#b")
    await expect(page.locator("#input")).to_be_focused()
    # the buffer list is made of real buttons with names: reachable and labelled
    await expect(page.get_by_role("button", name="#c", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Close #c")).to_have_count(1)


async def test_server_without_search_shows_no_search_box(open_page) -> None:
    runtime = await start_web_server("history.enabled=false")  # no history: no soju.im/search either
    try:
        await _no_search_box(await open_page(runtime.web_url()))
    finally:
        await runtime.stop()


async def _no_search_box(alice) -> None:
    await alice.connect("alice", "#lobby")
    await expect(alice.page.locator("#search-form")).to_be_hidden()
    await alice.say("/search anything")
    await expect(alice.messages().locator(".row.error")).to_contain_text("does not offer search")


async def test_a_guest_sends_no_read_markers(open_user, irc_user) -> None:
    """hubbub offers draft/read-marker, kept per account: a guest's client does not send
    markers (which would only earn it a FAIL shown in its buffer)."""
    alice = await open_user()
    await alice.page.clock.install()  # the client's timers run on a clock the test moves
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :read me")
    await expect(alice.messages()).to_contain_text("read me")
    await alice.page.clock.run_for(5_000)  # past the delay after which a marker would go
    # Shown once echoed (echo-message): any answer to what was sent before is in by then.
    await alice.say("after the timer")
    await expect(alice.messages().locator(".row.message").last).to_contain_text("after the timer")
    await expect(alice.messages().locator(".row.error")).to_have_count(0)
