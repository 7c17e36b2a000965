"""The web client in a real browser: nicks, keys, kicks and bans, long and
international messages, links in topics, commands with wrong arguments, layout.

Each test is what a person using the client would do.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.helpers import connected, sync
from tests.web.fixtures import PHONE
from tests.web.wsclient import start_web_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


def error_rows(user):
    return user.messages().locator(".row.error")


# -- nicknames -----------------------------------------------------------------------------------


async def test_a_nick_in_use_at_connect_gets_an_underscore_and_the_channels(open_user, irc_user) -> None:
    await irc_user("alice", "#lobby")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice_")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "alice_"])


async def test_a_nick_longer_than_the_servers_nicklen_brings_back_the_connect_screen_saying_why(open_page) -> None:
    runtime = await start_web_server("limits.nicklen=9")
    try:
        alice = await open_page(runtime.web_url())
        await alice.page.fill("#connect-nick", "abcdefghijk")  # 11 characters: valid, too long here
        await alice.page.fill("#connect-channels", "#lobby")
        await alice.page.click("#connect-submit")
        try:
            # back on the connect screen, told why, to choose another; not tried again
            await expect(alice.page.locator("#connect")).to_be_visible()
            await expect(alice.page.locator("#connect-error")).to_contain_text(
                "The server refused the nickname abcdefghijk: Erroneous nickname"
            )
            await expect(alice.page.locator("#connect-nick")).to_have_value("abcdefghijk")
            await alice.page.reload()  # said once, and no session starts by itself
            await expect(alice.page.locator("#connect")).to_be_visible()
            await expect(alice.page.locator("#connect-error")).to_have_text("")
        finally:
            await alice.page.close()  # before the server stops: no refused reconnection logged
    finally:
        await runtime.stop()


async def test_a_refused_nick_change_is_not_remembered(open_user, irc_user) -> None:
    await irc_user("carol", "#lobby")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/nick carol")
    await expect(error_rows(alice).last).to_contain_text("carol is already in use")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice")
    await alice.page.reload()
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice")


async def test_an_accepted_nick_change_is_remembered_across_a_reload(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/nick alicia")
    await expect(alice.page.locator("#nick-label")).to_have_text("alicia")
    await alice.page.reload()
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#nick-label")).to_have_text("alicia")


# -- keys, kicks, bans -----------------------------------------------------------------------------


async def test_joining_a_keyed_channel_with_and_without_its_key(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#vault")
    carol.send("MODE #vault +k sesame")
    await carol.expect("MODE", "#vault")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/join #vault")
    await expect(error_rows(alice).last).to_contain_text("#vault: Cannot join channel (+k)")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#lobby")
    await alice.say("/join #vault sesame")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#vault")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@carol", "alice"])


async def test_a_keyed_channel_is_rejoined_after_a_reload(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#vault")
    carol.send("MODE #vault +k sesame")
    await carol.expect("MODE", "#vault")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/join #vault sesame")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#vault")
    await alice.page.reload()
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#buffer-list")).to_contain_text("#vault")
    await alice.switch_to("#vault")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@carol", "alice"])
    await expect(alice.page.locator("#buffer-list li.parted")).to_have_count(0)


async def test_being_kicked_then_banned(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#room")
    alice = await open_user()
    await alice.connect("alice", "#room")
    carol.send("KICK #room alice :be nice")
    await expect(alice.messages()).to_contain_text("carol removed you from the channel (be nice)")
    await expect(alice.page.locator("#buffer-list li.parted")).to_have_text(re.compile("#room"))
    await expect(alice.page.locator("#member-list li")).to_have_count(0)
    carol.send("MODE #room +b alice!*@*")
    await carol.expect("MODE", "#room")
    await alice.say("/join #room")
    await expect(error_rows(alice).last).to_contain_text("#room: Cannot join channel (+b)")
    await expect(alice.page.locator("#buffer-list li.parted")).to_have_text(re.compile("#room"))


@pytest.mark.parametrize("how", ["part", "kick"])
async def test_a_channel_left_is_not_rejoined_by_a_reload(open_user, irc_user, how) -> None:
    carol = await irc_user("carol", "#room")
    alice = await open_user()
    await alice.connect("alice", "#lobby #room")
    if how == "part":
        await alice.say("/part #room")
    else:
        carol.send("KICK #room alice :out")
    await expect(alice.page.locator("#buffer-list li.parted")).to_have_text(re.compile("#room"))
    await alice.page.reload()
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#buffer-list")).to_contain_text("#lobby")
    await alice.say("/quote PING :synced")  # a round trip: any rejoin would be answered by now
    await sync(carol)
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice"])  # #lobby
    joins = [m for m in carol.received if m.command == "JOIN" and m.source.startswith("alice!")]
    assert len(joins) == 1, joins


# -- what is said -------------------------------------------------------------------------------------


async def test_a_long_emoji_line_reaches_others_whole_and_unbroken(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    dave = await irc_user("dave", "#lobby")  # no draft/multiline: gets the pieces
    text = "héllo wörld 😀👍🏽 שלום مرحبا " * 40  # about 1.8 KB of UTF-8, several lines' worth
    text = text.strip()
    await alice.say(text)
    await expect(bob.messages().locator(".row.message").last.locator(".text")).to_have_text(text)
    pieces: list[str] = []
    while "".join(pieces) != text and " ".join(pieces) != text and len(pieces) < 20:
        msg = await dave.expect("PRIVMSG", "#lobby")
        pieces.append(msg.params[1])
    assert len(pieces) > 1
    assert all("\ufffd" not in p for p in pieces)
    rebuilt = "".join(pieces)
    assert rebuilt == text or " ".join(pieces) == text


async def test_formatting_codes_emoji_and_right_to_left_text_are_shown(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :\x0312,04blue\x0f \x02\x1dbold italic\x0f \x1estruck\x1e \x11mono\x11 "
               "\x04ff8800orange\x04 שלום עולם 👋🏽 مرحبا")  # fmt: skip
    last = alice.messages().locator(".row.message").last
    await expect(last.locator(".text")).to_have_text("blue bold italic struck mono orange שלום עולם 👋🏽 مرحبا")
    await expect(last.locator(".fg-12.bg-4")).to_have_text("blue")
    await expect(last.locator(".b.i")).to_have_text("bold italic")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
async def test_a_long_word_wraps_instead_of_widening_the_page(open_user, irc_user, viewport) -> None:
    alice = await open_user(viewport=viewport)
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :" + "w" * 400)
    carol.send("PRIVMSG #lobby :https://example.org/" + "p" * 380)
    await expect(alice.messages().locator(".row.message")).to_have_count(2)
    sizes = await alice.page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.getElementById('messages').scrollWidth, document.getElementById('messages').clientWidth]"
    )
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes


async def test_links_in_a_topic_are_safe(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#lobby")
    carol.send("TOPIC #lobby :rules: https://example.org/rules. no javascript:alert(1) or JAVASCRIPT://x%0aalert(2)")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    topic = alice.page.locator("#topic")
    await expect(topic).to_contain_text("rules: https://example.org/rules. no javascript:alert(1)")
    links = topic.locator("a")
    await expect(links).to_have_count(1)
    await expect(links).to_have_attribute("href", "https://example.org/rules")
    await expect(links).to_have_attribute("rel", re.compile("noopener"))


async def test_a_private_message_from_a_stranger_opens_a_conversation_with_a_mention(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await irc_user("stranger")
    stranger = await irc_user("zed")  # shares no channel with alice
    stranger.send("PRIVMSG alice :\x01ACTION waves\x01")
    query = alice.page.locator("#buffer-list li", has_text="zed")
    await expect(query.locator(".badge.mention")).to_have_text("1")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#lobby")  # not switched away
    await alice.switch_to("zed")
    await expect(alice.messages().locator(".row.action")).to_contain_text("zed waves")


# -- commands with wrong arguments ---------------------------------------------------------------------


async def test_commands_with_missing_arguments_say_how_to_use_them(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await irc_user("carol", "#lobby")
    for line, expected in [
        ("/join", "Usage: /join"), ("/msg carol", "Usage: /msg"), ("/msg", "Usage: /msg"),
        ("/kick", "Usage: /kick"), ("/nick", "Usage: /nick"),
        ("/notice carol", "Usage: /notice"), ("/me", "Usage: /me"), ("/quote", "Usage: /quote"),
        ("/search", "Usage: /search"), ("/whois", "Usage: /whois"),
    ]:  # fmt: skip
        await alice.say(line)
        await expect(error_rows(alice).last).to_contain_text(expected)
    await alice.switch_to("hubbub")
    for line, expected in [("/topic", "works in a channel"), ("/part", "needs a channel"), ("/mode", "Usage: /mode"),
                           ("/me waves", "works in a channel"), ("hello?", "server buffer")]:  # fmt: skip
        await alice.say(line)
        await expect(error_rows(alice).last).to_contain_text(expected)
    # the server's own refusals are shown too
    await alice.say("/kick carol")  # from the server buffer: no channel
    await expect(error_rows(alice).last).to_contain_text("Usage: /kick")
    await alice.switch_to("#lobby")
    await alice.say("/mode +o nobody-here")
    await expect(error_rows(alice).last).to_contain_text("nobody-here")
    await alice.say("/join #bad,name,")
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")


async def test_an_invalid_nick_typed_in_nick_does_not_lock_the_user_out(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/nick 9lives")
    await expect(error_rows(alice).last).to_contain_text("9lives")
    await alice.page.reload()  # the refused nick was not remembered: back as alice
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice")


# -- conversations -----------------------------------------------------------------------------------


async def test_a_private_conversation_follows_a_nick_change(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG alice :hello in private")
    await alice.switch_to("carol")
    carol.send("NICK carolyn")
    await expect(alice.page.locator("#buffer-title")).to_have_text("carolyn")
    await expect(alice.messages()).to_contain_text("carol is now carolyn")
    await alice.say("still here?")
    await carol.expect("PRIVMSG", "carolyn", "still here?")
    await expect(alice.page.locator("#buffer-list")).not_to_contain_text(re.compile(r"carol(?!yn)"))


async def test_a_message_to_nobody_says_so_in_its_conversation(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/msg ghost are you there?")
    await expect(alice.page.locator("#buffer-title")).to_have_text("ghost")
    await expect(error_rows(alice).last).to_contain_text("ghost")


async def test_a_nick_made_only_of_special_characters_connects(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("[]^|", "#lobby")
    await expect(alice.page.locator("#nick-label")).to_have_text("[]^|")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :hey []^|, welcome")
    await expect(alice.messages().locator(".row.mention")).to_contain_text("welcome")
    await alice.say("thanks")
    said = await carol.expect("PRIVMSG", "#lobby", "thanks")
    assert said.source.startswith("[]^|!")


async def test_an_action_that_mentions_me_is_a_mention(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    carol = await irc_user("carol", "#lobby")
    await alice.switch_to("#other")
    carol.send("PRIVMSG #lobby :\x01ACTION pokes Alice\x01")
    lobby = alice.page.locator("#buffer-list li", has_text="#lobby")
    await expect(lobby.locator(".badge.mention")).to_have_text("1")


# -- the keyboard -----------------------------------------------------------------------------------


async def test_help_and_switcher_dialogs_with_the_keyboard_alone(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    page = alice.page
    await page.locator("#help-button").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#help-dialog")).to_be_visible()
    await expect(page.locator("#help-dialog")).to_contain_text("/join #channel[,#other] [key]")
    await page.keyboard.press("Escape")
    await expect(page.locator("#help-dialog")).to_be_hidden()
    await page.keyboard.press("Control+k")
    await page.keyboard.type("oth")
    await page.keyboard.press("Enter")
    await expect(page.locator("#buffer-title")).to_have_text("#other")
    await expect(page.locator("#input")).to_be_focused()
    await page.keyboard.type("typed without a mouse")
    await page.keyboard.press("Enter")
    await expect(alice.messages().locator(".row.message.self")).to_contain_text("typed without a mouse")


async def test_typing_a_letter_on_the_message_list_goes_to_the_input(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    await page.locator("#messages").focus()
    await page.keyboard.type("hi")
    await expect(page.locator("#input")).to_be_focused()
    await expect(page.locator("#input")).to_have_value(re.compile("i$"))


# -- pasting -----------------------------------------------------------------------------------------


async def test_a_long_multiline_paste_reaches_a_client_without_multiline_in_order(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    dave = await irc_user("dave", "#lobby")
    lines = [f"line {i:03d} " + ("é" * 30 if i % 7 else "") for i in range(130)]
    lines[50] = "x" * 700  # one line longer than IRC allows, in the middle
    lines[99] = ""  # a blank line where the first batch ends
    await alice.page.fill("#input", "\n".join(lines))
    await alice.page.press("#input", "Enter")
    await dave.expect("PRIVMSG", "#lobby", lines[-1], timeout=10)
    said = [m.params[1] for m in dave.received if m.command == "PRIVMSG" and m.params[0] == "#lobby"]
    assert "".join(said) == "".join(lines)
    assert [s for s in said if s.startswith("line ")] == [line for line in lines if line.startswith("line ")]


async def test_pasting_a_long_text_with_flood_control_on_does_not_disconnect(open_page) -> None:
    runtime = await start_web_server("limits.flood_control=true", "limits.flood_rate=50")
    try:
        dave = await connected(runtime, "dave", "#lobby")
        alice = await open_page(runtime.web_url())
        await alice.connect("alice", "#lobby")
        lines = [f"pasted log line {i:03d}: something happened here" for i in range(250)]
        await alice.page.fill("#input", "\n".join(lines))
        await alice.page.press("#input", "Enter")
        try:
            got = await dave.expect(lambda m: (m.command == "PRIVMSG" and m.params[1] == lines[-1])
                                    or m.command == "QUIT", timeout=20)  # fmt: skip
        finally:
            await alice.page.close()  # before the server stops: no refused reconnection logged
            await dave.close()
        assert got.command == "PRIVMSG", got
    finally:
        await runtime.stop()


async def test_a_message_to_myself_is_shown_once(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/msg alice note to self")
    await expect(alice.page.locator("#buffer-title")).to_have_text("alice")
    await alice.say("/quote PING :round-trip")
    await alice.say("second note")
    await expect(alice.messages().locator(".row.message")).to_have_count(2)
    await expect(alice.messages().locator(".row.message").first).to_contain_text("note to self")
    await expect(alice.page.locator("#buffer-list li", has_text="alice").locator(".badge.mention")).to_have_count(0)


async def test_ctcp_version_and_ping_are_answered(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG alice :\x01VERSION\x01")
    assert (await carol.expect("NOTICE", "carol")).params[1] == "\x01VERSION hubbub web client\x01"
    carol.send("PRIVMSG alice :\x01PING 12345\x01")
    assert (await carol.expect("NOTICE", "carol")).params[1] == "\x01PING 12345\x01"
    await expect(alice.page.locator("#buffer-list")).not_to_contain_text("carol")  # no conversation opened


async def test_a_second_tab_of_the_same_person_gets_a_nick_of_its_own(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    second = await alice.context.new_page()
    second.on("console", lambda m: m.type == "error" and alice.errors.append(m.text))
    await second.goto(alice.page.url)  # the same storage: the session resumes there too
    await expect(second.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(second.locator("#nick-label")).to_have_text("alice_")
    await expect(second.locator("#member-list li")).to_have_text(["@alice", "alice_"])
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :hello both")
    await expect(alice.messages()).to_contain_text("hello both")
    await expect(second.locator("#messages")).to_contain_text("hello both")
    await second.close()
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "carol"])


async def test_two_tabs_of_one_person_keep_their_nicks_when_one_reloads(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    second = await alice.context.new_page()
    second.on("console", lambda m: m.type == "error" and alice.errors.append(m.text))
    await second.clock.install()  # its wait for the nick runs when the test moves its clock
    await second.goto(alice.page.url)
    await expect(second.locator("#nick-label")).to_have_text("alice_")
    await alice.page.reload()  # its session closes, freeing "alice" for a moment
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice")
    await expect(second.locator("#member-list li")).to_have_text(["alice", "alice_"])
    await second.clock.run_for(20_000)  # past the wait: "alice" came back meanwhile
    await expect(alice.page.locator("#nick-label")).to_have_text("alice")
    await expect(second.locator("#nick-label")).to_have_text("alice_")
    await alice.page.close()  # gone for good: the second tab takes the nick once it stayed free
    await expect(second.locator("#member-list li")).to_have_text(["alice_"])
    await second.wait_for_function("() => window.hubbub.client.timers.reclaim !== null")  # its 731 came
    await second.clock.run_for(20_000)
    await expect(second.locator("#nick-label")).to_have_text("alice")


async def test_a_duplicated_tab_does_not_take_the_nick_of_the_tab_it_was_copied_from(open_user) -> None:
    """A tab opened from another (window.open, or the browser's Duplicate tab) starts
    with a copy of its sessionStorage, the nick held included: it is not its own."""
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    async with alice.context.expect_page() as opened:
        await alice.page.evaluate("window.open(location.href)")
    copy = await opened.value
    copy.on("console", lambda m: m.type == "error" and alice.errors.append(m.text))
    await expect(copy.locator("#nick-label")).to_have_text("alice_")
    await alice.page.reload()  # its old session closes: the copy waits for "alice" to stay free
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice")
    await expect(copy.locator("#nick-label")).to_have_text("alice_")


async def test_after_a_restart_a_nick_taken_meanwhile_gets_an_underscore(open_user, irc_user, web_server) -> None:
    alice = await open_user()
    alice.allowed_errors.append(r"WebSocket connection to .* failed")
    await alice.page.clock.install()  # the reconnection waits for the test to move the clock
    await alice.connect("alice", "#lobby")
    await web_server.restart()
    await expect(alice.page.locator("#banner")).to_be_visible()
    usurper = await irc_user("alice", "#lobby")
    await alice.page.clock.run_for(35_000)  # past the longest backoff
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice_")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "alice_"])
    usurper.send("PRIVMSG #lobby :alice_, I have your nick")
    await expect(alice.messages().locator(".row.mention")).to_contain_text("I have your nick")


async def test_combined_mode_changes_keep_the_member_list_right(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#room")
    alice = await open_user()
    await alice.connect("alice", "#room")
    members = alice.page.locator("#member-list li")
    await expect(members).to_have_text(["@carol", "alice"])
    carol.send("MODE #room +lkbv 10 sesame *!*@evil.example alice")
    await expect(members).to_have_text(["@carol", "+alice"])
    carol.send("MODE #room -l+o-k alice sesame")
    await expect(members).to_have_text(["@alice", "@carol"])
    carol.send("MODE #room -o+b-v alice other!*@* alice")
    await expect(members).to_have_text(["@carol", "alice"])
    said = "carol took operator status from alice, banned other!*@* and took the voice from alice"
    await expect(alice.messages().locator(".row.mode").last).to_contain_text(f"{said} (-o+b-v alice other!*@* alice)")
