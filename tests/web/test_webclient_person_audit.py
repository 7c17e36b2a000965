"""The web client as a person meets it the first time (used to The Lounge, Slack or
Discord), in Debian's Chromium against a real hubbub.

What the earlier browser tests leave out: the connect form's own answers to an empty
or impossible nickname and a retry with the keyboard alone; where the focus goes after
each click (Send, a conversation, a member, a nick, "Join a channel…", the × button);
a draft kept while typing; history on joining at the server's own times, once each,
also after a reload; characters that are neither text nor formatting; a link opened in
a new tab that cannot reach back; a nick as long as the server allows on a 360 px
phone; a draft and the focus across a server restart; a channel rejoined without
switching to it; a line typed in a channel one has left; commands typed in capitals;
/quit and back with the keyboard.

Bugs found are strict xfails: each asserts what should happen and fails today.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.helpers import sync  # noqa: E402
from tests.web.fixtures import PHONE  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

# While the server is down the browser may log its refused WebSocket by itself.
REFUSED_WEBSOCKET = r"WebSocket connection to .* failed"
# C0 controls other than tab and the line feed a multi-line message keeps, and DEL: never
# text a person can read (formatting codes are drawn, so they are gone from the text too).
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def error_rows(user):
    return user.messages().locator(".row.error")


def buffer_item(user, name: str):
    """The conversation list's entry for exactly `name`."""
    return user.page.locator("#buffer-list li").filter(
        has=user.page.locator(".name", has_text=re.compile(rf"^{re.escape(name)}$"))
    )


async def registered(user) -> None:
    await expect(user.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")


# -- the first visit -------------------------------------------------------------------------------


async def test_first_visit_says_what_is_wrong_with_a_nick_and_connects_on_retry_by_keyboard_alone(
    open_user, irc_user
) -> None:  # fmt: skip
    carol = await irc_user("carol", "#dev")
    alice = await open_user()
    page = alice.page
    nick = page.locator("#connect-nick")
    error = page.locator("#connect-error")
    await expect(nick).to_be_focused()  # a first visit starts where one types
    await expect(page.locator("#connect-channels")).to_have_value("#lobby")

    await page.keyboard.press("Enter")  # nothing typed yet
    await expect(error).to_have_text("Please choose a nickname.")
    await expect(nick).to_be_focused()
    await expect(nick).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#app")).to_be_hidden()

    await page.keyboard.type("alice smith")  # a space: IRC nicks are one word
    await page.keyboard.press("Enter")
    await expect(error).to_contain_text(re.compile("space|character"))
    await expect(nick).to_be_focused()
    await expect(page.locator("#app")).to_be_hidden()
    assert await page.evaluate("() => window.hubbub === undefined")  # nothing was sent

    await nick.fill("alice")
    await page.locator("#connect-channels").fill("lobby, dev")  # as people type them: no #, a comma
    await nick.press("Enter")
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await expect(buffer_item(alice, "#dev")).to_have_count(1)
    await carol.expect("JOIN", "#dev")
    await expect(page.locator("#input")).to_be_focused()
    await page.keyboard.type("hi, first time here")
    await page.keyboard.press("Enter")
    await expect(alice.messages().locator(".row.self .text")).to_have_text([re.compile("hi, first time here$")])


async def test_only_the_field_the_error_is_about_is_marked_invalid(open_user) -> None:
    """A bad nickname, then a bad account name: the nickname is no longer marked (the
    error, part of both fields' descriptions, is about the account now), and typing in a
    marked field takes its mark away."""
    alice = await open_user()
    page = alice.page
    nick, account = page.locator("#connect-nick"), page.locator("#connect-account")
    await nick.press("Enter")
    await expect(nick).to_have_attribute("aria-invalid", "true")
    await nick.fill("alice")
    await expect(nick).not_to_have_attribute("aria-invalid", "true")
    await account.fill("alice smith")
    await nick.press("Enter")
    await expect(account).to_have_attribute("aria-invalid", "true")
    await expect(account).to_be_focused()
    await nick.fill("")
    await nick.press("Enter")  # the nickname wrong again: the account's mark goes
    await expect(nick).to_have_attribute("aria-invalid", "true")
    await expect(account).not_to_have_attribute("aria-invalid", "true")


async def test_a_nick_starting_with_a_digit_is_told_it_must_start_with_a_letter(open_user) -> None:
    alice = await open_user()
    page = alice.page
    await page.locator("#connect-nick").fill("9lives")
    await page.locator("#connect-nick").press("Enter")
    error = page.locator("#connect-error")
    await expect(error).not_to_have_text("")
    await expect(page.locator("#app")).to_be_hidden()
    # The help under the field says "Letters, digits and _-[]{}|^`; no spaces": a reader
    # needs to hear what is wrong with a name made of letters and digits.
    await expect(error).to_have_text(re.compile(r"\b(start|begin|first)", re.I), timeout=2_000)


# -- the keyboard and the focus --------------------------------------------------------------------


async def test_the_focus_comes_back_to_the_message_box_after_every_click(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    carol = await irc_user("carol", "#lobby", "#other")
    page = alice.page
    box = page.locator("#input")
    await expect(page.locator("#member-list li")).to_have_text(["@alice", "carol"])

    await page.keyboard.press("Enter")  # an empty box, and one of blanks: nothing is sent
    await box.fill("   ")
    await box.press("Enter")
    await box.fill("sent with the button")
    await page.click("#send")
    assert (await carol.expect("PRIVMSG")).params == ["#lobby", "sent with the button"]
    await expect(box).to_have_value("")
    await expect(box).to_be_focused()

    await buffer_item(alice, "#other").locator(".buffer").click()
    await expect(page.locator("#buffer-title")).to_have_text("#other")
    await expect(box).to_be_focused()
    await page.keyboard.press("Alt+ArrowUp")
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await expect(box).to_be_focused()

    carol.send("PRIVMSG #lobby :anyone here?")
    await alice.messages().locator(".row.message .nick", has_text="carol").click()  # answer her
    await expect(box).to_have_value("carol: ")
    await expect(box).to_be_focused()
    await page.keyboard.type("yes!")
    await page.keyboard.press("Enter")
    assert (await carol.expect("PRIVMSG")).params == ["#lobby", "carol: yes!"]

    await page.locator("#member-list button", has_text="carol").click()  # talk in private
    await expect(page.locator("#buffer-title")).to_have_text("carol")
    await expect(box).to_be_focused()
    await page.keyboard.type("psst")
    await page.keyboard.press("Enter")
    assert (await carol.expect("PRIVMSG")).params == ["carol", "psst"]

    await page.click("#join-button")
    await expect(box).to_be_focused()
    await page.keyboard.type("more")
    await page.keyboard.press("Enter")
    await expect(page.locator("#buffer-title")).to_have_text("#more")

    await buffer_item(alice, "#more").get_by_role("button", name="Close #more").click()
    await expect(buffer_item(alice, "#more")).to_have_count(0)
    await page.keyboard.type("typed after closing")  # the focus was on the × that is gone
    await expect(box).to_have_value("typed after closing")
    await page.keyboard.press("Enter")
    said = await carol.expect("PRIVMSG")
    assert said.params[1] == "typed after closing", said.params


async def test_the_join_a_channel_button_does_not_throw_away_what_you_were_typing(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    box = page.locator("#input")
    draft = "a long reply I was halfway through writing"
    await box.fill(draft)
    await page.click("#join-button")
    await page.keyboard.type("dev")
    await page.keyboard.press("Enter")
    await expect(page.locator("#buffer-title")).to_have_text("#dev")
    await expect(box).to_have_value("")  # the draft was for #lobby: not offered to #dev
    await buffer_item(alice, "#lobby").click()
    await expect(box).to_have_value(draft, timeout=2_000)  # back where it was being written


async def test_sending_while_scrolled_up_brings_you_down_to_your_line(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    for i in range(60):
        carol.send(f"PRIVMSG #lobby :backlog {i:02d}")
    await expect(alice.messages().locator(".row.message").last).to_contain_text("backlog 59")
    page = alice.page
    await page.locator("#input").focus()
    await page.keyboard.press("PageUp")
    await page.keyboard.press("PageUp")
    await expect(page.locator("#jump")).to_be_visible()
    await page.keyboard.type("my answer to that")
    await page.keyboard.press("Enter")
    mine = alice.messages().locator(".row.self", has_text="my answer to that")
    await expect(mine).to_be_in_viewport()
    await expect(page.locator("#jump")).to_be_hidden()


# -- history ----------------------------------------------------------------------------------------


async def test_history_on_joining_is_shown_once_in_order_at_the_servers_own_times(open_user, irc_user) -> None:
    dave = await irc_user("dave")
    dave.send("CAP REQ :server-time")
    await dave.expect("CAP")
    await dave.join("#lobby")
    carol = await irc_user("carol", "#lobby")
    said = ["good morning", "\x01ACTION brews coffee\x01", "the build is green"]
    for text in said:
        carol.send(f"PRIVMSG #lobby :{text}")
    times = [(await dave.expect("PRIVMSG", "#lobby", text)).tags["time"] for text in said]

    alice = await open_user()
    await alice.connect("alice", "#lobby")
    rows = alice.messages().locator(".row.message, .row.action")
    await expect(rows.locator(".text")).to_have_text([re.compile("good morning$"), re.compile("carol brews coffee$"),
                                     re.compile("the build is green$")])  # fmt: skip
    shown = await rows.locator("time.ts").evaluate_all(
        "ts => ts.map((t) => [t.getAttribute('datetime'), t.textContent, t.title])"
    )  # fmt: skip
    assert [s[0] for s in shown] == times, (shown, times)  # when it was said, not when she joined
    for _, clock, title in shown:
        assert re.fullmatch(r"\d{1,2}:\d{2}(\s?[AP]M)?", clock), clock
        assert re.search(r"\b20\d\d\b", title), title  # the full date on hover
    await alice.say("my own line")
    await expect(alice.messages().locator(".row.self")).to_have_count(1)

    await alice.page.reload()  # and again from the server, once each, hers still hers
    await registered(alice)
    await expect(rows.last.locator(".text")).to_have_text(re.compile("my own line$"))
    texts = await rows.locator(".text").all_text_contents()
    assert texts == ["good morning", "carol brews coffee", "the build is green", "my own line"], texts
    await expect(alice.messages().locator(".row.self .text")).to_have_text([re.compile("my own line$")])


# -- what is shown --------------------------------------------------------------------------------------


async def test_control_characters_that_are_not_formatting_are_not_shown_raw(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#lobby")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol.send("PRIVMSG #lobby :\x02ding\x02\x07 \x1b[31mred\x1b[0m and \x01odd\x0e\x12 del\x7fend")
    carol.send("TOPIC #lobby :welcome\x07\x1b[1m all")
    carol.send("QUIT :bye\x07 for now")
    await expect(alice.messages().locator(".chip.quit")).to_have_count(1)
    await expect(alice.page.locator("#topic")).to_contain_text("all")
    message = await alice.messages().locator(".row.message .text").text_content()
    assert "ding" in message and "red" in message and "end" in message, message
    for where in ("#messages", "#topic"):
        text = await alice.page.locator(where).text_content() or ""
        assert not RAW_CONTROL.search(text), (where, text)


async def test_a_link_opens_in_a_new_tab_that_cannot_reach_back_and_the_chat_stays(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    # No network here: the browser gets the linked page from the test instead.
    await alice.context.route(
        "https://example.org/**", lambda route: route.fulfill(body="<title>elsewhere</title>", content_type="text/html")
    )  # fmt: skip
    carol.send("PRIVMSG #lobby :the notes: https://example.org/notes?id=7.")
    chat_url = alice.page.url
    link = alice.messages().locator("a")
    await expect(link).to_have_text("https://example.org/notes?id=7")  # the full stop is the sentence's
    async with alice.context.expect_page() as opened:
        await link.click()
    tab = await opened.value
    try:
        await tab.wait_for_load_state()
        assert tab.url == "https://example.org/notes?id=7"
        assert await tab.evaluate("() => [window.opener, document.referrer]") == [None, ""]
    finally:
        await tab.close()
    assert alice.page.url == chat_url
    await registered(alice)  # the chat was not navigated away nor disconnected
    await alice.say("read it")
    await carol.expect("PRIVMSG", "#lobby", "read it")


async def test_a_nick_as_long_as_the_server_allows_does_not_push_messages_sideways_on_a_phone(
    open_user, irc_user
) -> None:  # fmt: skip
    long_nick = "MAXIMILIAN_WOLFGANG_AMADEUS_MM"  # 30 characters, the server's NICKLEN
    assert len(long_nick) == 30
    speaker = await irc_user(long_nick, "#lobby")
    alice = await open_user(viewport=PHONE)
    await alice.connect("alice", "#lobby")
    speaker.send("PRIVMSG #lobby :hello from a long name")
    speaker.send("PRIVMSG #lobby :\x01ACTION waves from a long name\x01")
    await expect(alice.messages().locator(".row.action")).to_have_count(1)
    sizes = await alice.page.evaluate(
        "() => { const m = document.getElementById('messages');"
        " return [document.documentElement.scrollWidth, innerWidth, m.scrollWidth, m.clientWidth]; }"
    )  # fmt: skip
    wide = await alice.page.evaluate(  # what sticks out, to say so when it fails
        "() => [...document.querySelectorAll('#messages *')]"
        ".filter(e => e.getBoundingClientRect().right > innerWidth || e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.parentElement.className + ' > ' + e.tagName + '.' + e.className)"
    )  # fmt: skip
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], (sizes, wide)


# -- the connection ---------------------------------------------------------------------------------


async def test_a_draft_and_the_focus_survive_the_server_going_away_and_coming_back(
    web_server, open_user, irc_user
) -> None:  # fmt: skip
    alice = await open_user()
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    await alice.connect("alice", "#lobby #other")
    page = alice.page
    dot = page.locator("#connection-dot")
    await expect(dot).to_have_attribute("aria-label", "Connection: connected")
    await page.keyboard.type("half a thought")
    await web_server.runtime.stop()
    await expect(page.locator("#banner-text")).to_contain_text("Disconnected")
    await expect(dot).to_have_attribute("aria-label", "Connection: disconnected")
    await expect(page.locator("#input")).to_have_value("half a thought")
    await expect(page.locator("#input")).to_be_focused()

    await web_server.restart()
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered", timeout=20_000)
    await expect(dot).to_have_attribute("aria-label", "Connection: connected")
    await expect(page.locator("#banner")).to_be_hidden()
    await expect(page.locator("#input")).to_have_value("half a thought")
    carol = await irc_user("carol", "#lobby")
    await expect(page.locator("#member-list li")).to_have_text(["@alice", "carol"])
    await expect(page.locator("#input")).to_be_focused()
    await page.keyboard.type(", finished")
    await page.keyboard.press("Enter")
    await carol.expect("PRIVMSG", "#lobby", "half a thought, finished")
    await expect(alice.messages().locator(".row.self .text")).to_have_text([re.compile("half a thought, finished$")])
    await alice.switch_to("#other")  # rejoined too
    await expect(page.locator("#member-list li")).to_have_text(["@alice"])


async def test_a_channel_rejoined_without_switching_to_it_is_no_longer_shown_as_left(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#other")  # first in: she is its operator
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    other = buffer_item(alice, "#other")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#lobby")
    carol.send("KICK #other alice :out for a minute")
    await expect(other).to_have_class(re.compile(r"\bparted\b"))
    await alice.say("/join #lobby,#other")  # back into #other, staying where she is
    await carol.expect("JOIN", "#other")
    await alice.page.wait_for_function("() => window.hubbub.state.buffer('#other').joined")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#lobby")
    await expect(other).not_to_have_class(re.compile(r"\bparted\b"), timeout=3_000)


# -- commands ---------------------------------------------------------------------------------------


async def test_a_line_typed_in_a_channel_you_left_is_refused_there_and_can_be_sent_after_rejoining(
    open_user, irc_user
) -> None:  # fmt: skip
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    page = alice.page
    await alice.say("/part")
    await expect(page.locator("#buffer-list li.parted")).to_have_text(re.compile("#lobby"))
    await alice.say("is this thing on?")
    await expect(error_rows(alice).last).to_contain_text("#lobby")
    await expect(alice.messages().locator(".row.self")).to_have_count(0)  # not shown as said
    await alice.say("/join #lobby")
    await expect(page.locator("#buffer-list li.parted")).to_have_count(0)
    await page.locator("#input").focus()
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowUp")  # past the /join: the line that was refused
    await expect(page.locator("#input")).to_have_value("is this thing on?")
    await page.keyboard.press("Enter")
    await carol.expect("PRIVMSG", "#lobby", "is this thing on?")
    assert not [m for m in await sync(carol) if m.command == "PRIVMSG"]  # once


async def test_commands_typed_in_capitals_or_by_their_short_names_work(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    page = alice.page
    await alice.say("/ME waves")
    await carol.expect("PRIVMSG", "#lobby", "\x01ACTION waves\x01")
    await alice.say("/J #Dev")
    await expect(page.locator("#buffer-title")).to_have_text("#Dev")
    await alice.say("/Topic the dev room")
    await expect(page.locator("#topic")).to_have_text("the dev room")
    await alice.say("/M Carol see #Dev")  # her nick as one remembers it, capital and all
    await carol.expect(lambda m: m.command == "PRIVMSG" and m.params[1] == "see #Dev")
    await expect(page.locator("#buffer-title")).to_have_text(re.compile("^carol$", re.I))
    carol.send("PRIVMSG alice :on my way")  # her answer lands in that conversation, not a second one
    await expect(alice.messages().locator(".row.message").last).to_contain_text("on my way")
    await expect(page.locator("#buffer-list li").filter(has_text=re.compile("^carol", re.I))).to_have_count(1)
    await alice.say("/NICK alicia")
    await carol.expect("NICK", "alicia")
    await expect(page.locator("#nick-label")).to_have_text("alicia")
    await alice.say("/Leave #Dev")  # not in #Dev's conversation: the one named
    await expect(buffer_item(alice, "#Dev")).to_have_class(re.compile(r"\bparted\b"))
    await alice.say("/FROB")
    await expect(error_rows(alice).last).to_contain_text("Unknown command /frob")


async def test_after_quit_enter_on_the_connect_screen_brings_you_back_to_your_channels(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #dev")
    carol = await irc_user("carol", "#lobby", "#dev")
    page = alice.page
    async with page.expect_event("load"):  # /quit reloads the page to the connect screen
        await alice.say("/quit lunch")
    await carol.expect("QUIT", "Quit: lunch")
    await expect(page.locator("#connect")).to_be_visible()
    await expect(page.locator("#connect-nick")).to_have_value("alice")
    await expect(page.locator("#connect-channels")).to_have_value("#lobby #dev")
    await expect(page.locator("#connect-submit")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await expect(buffer_item(alice, "#dev")).to_have_count(1)
    await expect(page.locator("#buffer-list li.parted")).to_have_count(0)
    await carol.expect("JOIN", "#dev")


async def test_joining_a_channel_you_are_in_with_others_leaves_no_switch_pending(open_user, irc_user) -> None:
    """`/join #lobby,#dev` from #lobby: no JOIN comes back for #lobby, so nothing may wait
    for one: a JOIN to #lobby later (here by /quote, as after a kick) must not pull the
    person away from where they are."""
    carol = await irc_user("carol", "#lobby")  # first in: #lobby's operator
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    page = alice.page
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await alice.say("/join #lobby,#dev")
    await expect(buffer_item(alice, "#dev")).to_have_count(1)
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await buffer_item(alice, "#other").click()
    await expect(page.locator("#buffer-title")).to_have_text("#other")
    carol.send("KICK #lobby alice :back in a moment")
    await expect(buffer_item(alice, "#lobby")).to_have_class(re.compile(r"\bparted\b"))
    await alice.say("/quote JOIN #lobby")
    await carol.expect("JOIN", "#lobby")
    await expect(buffer_item(alice, "#lobby")).not_to_have_class(re.compile(r"\bparted\b"))
    await expect(page.locator("#buffer-title")).to_have_text("#other")
