"""What people do with the web client every day, in a real browser against a real hubbub.

Scrolling back through history, unread counts and read markers across two tabs of one
account, mentions, private conversations someone else opened, /me, nick changes and
topics, a channel of hundreds, long words on a phone, emoji and right-to-left text,
a server restart, the keyboard, and what the page says when the server refuses.

Several of these once failed (a read marker from another device, a brief read, missed
lines not counted after a restart, a stale topic, a long topic on a phone, right-to-left
text, Tab offering a nick that left): the client was fixed, the tests keep it so.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("playwright")

import pytest_asyncio  # noqa: E402
from playwright.async_api import expect  # noqa: E402

from hubbub.app import Runtime  # noqa: E402
from tests.e2e_accounts.support import registered_account  # noqa: E402
from tests.helpers import LOBBY_CREATOR_OP, LineClient, connected, sync  # noqa: E402
from tests.web.wsclient import start_web_server  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

PHONE_375 = {"width": 375, "height": 740}
PASSWORD = "sekrit-words"
BEGINNING = "Beginning of the conversation"
# While a server is down the browser may log its refused WebSocket by itself.
REFUSED_WEBSOCKET = r"WebSocket connection to .* failed"


# -- helpers ------------------------------------------------------------------------------------


def buffer_item(user, name: str):
    """The conversation list's entry for `name` (the exact name, not a prefix of another)."""
    return user.page.locator("#buffer-list li").filter(
        has=user.page.locator(".name", has_text=re.compile(rf"^{re.escape(name)}$"))
    )


def badge(user, name: str):
    return buffer_item(user, name).locator(".badge")


def error_rows(user):
    """The red lines' texts (a row also holds its time, said last for a screen reader)."""
    return user.messages().locator(".row.error .text")


async def message_texts(user) -> list[str]:
    return await user.messages().locator(".row.message .text").all_text_contents()


async def scroll_until(user, condition: str, to: str = "0") -> None:
    """Scroll the message list to `to` (a JS expression of `m`, the list) again and again,
    as a reader dragging the scrollbar does, until `condition` (JS, of `m`) holds."""
    await user.page.wait_for_function(
        f"() => {{ const m = document.getElementById('messages'); m.scrollTop = {to}; return {condition}; }}",
        polling=100, timeout=20_000,
    )  # fmt: skip


class Servers:
    """hubbub servers of a test's own (settings the shared fixture does not have); a
    restart keeps the ports, so a page reconnects to the same address."""

    def __init__(self) -> None:
        self.running: list[Runtime] = []
        self.clients: list[LineClient] = []

    async def start(self, *overrides: str) -> Runtime:
        runtime = await start_web_server(LOBBY_CREATOR_OP, *overrides)  # as the shared fixture's
        self.running.append(runtime)
        return runtime

    async def stop(self, runtime: Runtime) -> tuple[str, str]:
        irc_host, irc_port = runtime.irc_address()
        web_host, web_port = runtime.listeners.address("web")
        self.running.remove(runtime)
        await runtime.stop()
        return f"listen.irc=['{irc_host}:{irc_port}']", f"listen.web='{web_host}:{web_port}'"

    async def user(self, runtime: Runtime, nick: str, *channels: str) -> LineClient:
        client = await connected(runtime, nick, *channels)
        self.clients.append(client)
        return client


@pytest_asyncio.fixture(loop_scope="session")
async def servers() -> AsyncIterator[Servers]:
    """Ask for it before `open_page`: torn down after the pages are closed."""
    own = Servers()
    yield own
    for client in own.clients:
        await client.close()
    for runtime in list(own.running):
        await runtime.stop()


# -- history ------------------------------------------------------------------------------------


async def test_scrolling_up_loads_older_messages_once_each_in_order(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#kept")
    count = 700  # more than the page keeps drawn at once (400 rows): the window moves too
    for i in range(count):
        carol.send(f"PRIVMSG #kept :kept {i:03d}")
    await sync(carol)
    alice = await open_user()
    await alice.connect("alice", "#kept")
    messages = alice.messages()
    await expect(messages.locator(".row.message .text").last).to_have_text(re.compile(f"kept {count - 1:03d}$"))

    await scroll_until(alice, f"m.querySelector('.history-status').textContent === '{BEGINNING}'")
    top = await message_texts(alice)
    assert top, "nothing drawn at the top"
    assert top == [f"kept {i:03d}" for i in range(len(top))], top[:5] + ["…"] + top[-5:]
    await expect(messages.locator(".row.presence").first).to_contain_text("carol joined")

    # and back down to the newest: every row once, in order, ending with the last one
    await scroll_until(
        alice, f"[...m.querySelectorAll('.row.message .text')].pop().textContent === 'kept {count - 1:03d}'",
        to="m.scrollHeight",
    )  # fmt: skip
    bottom = await message_texts(alice)
    assert bottom == [f"kept {i:03d}" for i in range(count - len(bottom), count)], bottom[:5] + ["…"] + bottom[-5:]
    await expect(messages.locator(".chip", has_text="alice joined")).to_have_count(1)


# -- unread counts and read markers, two tabs of one account -------------------------------------


async def _account(web_server) -> None:
    owner = await registered_account(web_server.runtime, "alice", PASSWORD)
    owner.send("QUIT")
    await owner.closed()


async def test_reading_in_one_tab_clears_the_unread_count_in_the_other(web_server, open_user, irc_user) -> None:
    await _account(web_server)
    laptop = await open_user()
    await laptop.connect("alice", "#other #lobby", password=PASSWORD)
    phone = await open_user()
    await phone.connect("alice", "#other #lobby", password=PASSWORD)
    await expect(phone.page.locator("#nick-label")).to_have_text("alice_")
    carol = await irc_user("carol", "#lobby", "#other")
    carol.send("PRIVMSG #lobby :first news")
    carol.send("PRIVMSG #lobby :second news")
    for tab in (laptop, phone):
        await expect(badge(tab, "#lobby")).to_have_text("2")

    await laptop.switch_to("#lobby")  # read there...
    await expect(badge(laptop, "#lobby")).to_have_text("")
    await expect(badge(phone, "#lobby")).to_have_text("")  # ...and no longer unread here
    await expect(phone.page).to_have_title("#other · hubbub")

    await laptop.switch_to("#other")
    carol.send("PRIVMSG #lobby :third news")
    for tab in (laptop, phone):
        await expect(badge(tab, "#lobby")).to_have_text("1")


async def test_a_read_marker_from_another_device_leaves_only_later_messages_unread(
    web_server, open_user, irc_user
) -> None:  # fmt: skip
    device = await registered_account(web_server.runtime, "alice", PASSWORD)  # a laptop's IRC client
    device.send("CAP REQ :draft/read-marker server-time message-tags")
    await device.expect("CAP")
    await device.join("#lobby")
    tab = await open_user()
    await tab.connect("alice", "#other #lobby", password=PASSWORD)  # alice_, logged in as alice
    carol = await irc_user("carol", "#lobby", "#other")
    carol.send("PRIVMSG #lobby :one")
    one = await device.expect("PRIVMSG", "#lobby", "one")
    await expect(badge(tab, "#lobby")).to_have_text("1")
    carol.send("PRIVMSG #lobby :two")  # said after the page showed "one": a later time
    carol.send("PRIVMSG #lobby :three")
    later = [await device.expect("PRIVMSG", "#lobby", text) for text in ("two", "three")]
    assert all(m.tags["time"] > one.tags["time"] for m in later), (one.tags, [m.tags for m in later])
    await expect(badge(tab, "#lobby")).to_have_text("3")
    device.send(f"MARKREAD #lobby timestamp={one.tags['time']}")  # read up to "one" over there
    await device.expect("MARKREAD", "#lobby")
    await tab.page.wait_for_function("() => window.hubbub.state.buffer('#lobby').readMarker > 0")
    await expect(badge(tab, "#lobby")).to_have_text("2", timeout=2_000)


async def test_lines_read_on_coming_back_to_the_window_are_read_on_other_devices(
    web_server, open_user, irc_user
) -> None:  # fmt: skip
    """Lines that came into the open conversation while the window was in the background
    are read when the person comes back to it, and the account's other devices are told."""
    device = await registered_account(web_server.runtime, "alice", PASSWORD)
    device.send("CAP REQ :draft/read-marker server-time message-tags")
    await device.expect("CAP")
    await device.join("#lobby")
    tab = await open_user()
    await tab.connect("alice", "#lobby", password=PASSWORD)
    await tab.switch_to("#lobby")
    carol = await irc_user("carol", "#lobby")
    await tab.page.evaluate("() => { document.hasFocus = () => false; window.dispatchEvent(new Event('blur')); }")
    assert await tab.page.evaluate("() => window.hubbub.state.focused") is False
    carol.send("PRIVMSG #lobby :while you were away")
    said = await device.expect("PRIVMSG", "#lobby", "while you were away")
    await expect(tab.page.locator("#messages")).to_contain_text("while you were away")
    await tab.page.evaluate("() => { document.hasFocus = () => true; window.dispatchEvent(new Event('focus')); }")
    marked = await device.expect(lambda m: m.command == "MARKREAD" and m.params[0] == "#lobby"
                                 and m.params[1] >= f"timestamp={said.tags['time']}")  # fmt: skip
    assert marked.params[1] == f"timestamp={said.tags['time']}"


async def test_a_channel_read_briefly_in_one_tab_is_read_in_the_other(web_server, open_user, irc_user) -> None:
    await _account(web_server)
    laptop = await open_user()
    await laptop.connect("alice", "#lobby #other", password=PASSWORD)
    phone = await open_user()
    await phone.connect("alice", "#lobby #other", password=PASSWORD)
    carol = await irc_user("carol", "#lobby", "#other")
    for tab in (laptop, phone):
        await tab.switch_to("hubbub")  # the server buffer: nothing to mark there
    carol.send("PRIVMSG #lobby :lobby news")
    carol.send("PRIVMSG #other :other news")
    for tab in (laptop, phone):
        await expect(badge(tab, "#lobby")).to_have_text("1")
        await expect(badge(tab, "#other")).to_have_text("1")
    # on the laptop: a look at #lobby (Alt+2), then on to #other (Alt+3)
    await laptop.page.keyboard.press("Alt+2")
    await expect(laptop.messages()).to_contain_text("lobby news")
    await laptop.page.keyboard.press("Alt+3")
    await expect(laptop.page.locator("#buffer-title")).to_have_text("#other")
    await expect(badge(laptop, "#lobby")).to_have_text("")  # read, says the laptop
    await expect(badge(phone, "#other")).to_have_text("")  # the laptop's marker for #other came
    await expect(badge(phone, "#lobby")).to_have_text("", timeout=2_000)


# -- mentions -----------------------------------------------------------------------------------------


async def test_mentions_are_highlighted_and_counted_but_lookalikes_are_not(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    carol = await irc_user("carol", "#lobby", "#other")
    await alice.switch_to("#other")
    carol.send("PRIVMSG #lobby :malice, palace and alicex are not her")
    carol.send("PRIVMSG #lobby :@Alice: lunch?")
    carol.send("NOTICE #lobby :heads up, alice's build is red")
    carol.send("PRIVMSG #lobby :plain chatter")
    await expect(badge(alice, "#lobby")).to_have_text("4")
    await expect(badge(alice, "#lobby")).to_have_class(re.compile(r"\bmention\b"))
    await expect(alice.page.get_by_role("button", name="#lobby, 4 unread, 2 mentioning you")).to_have_count(1)
    await expect(alice.page).to_have_title("(2) #other · hubbub")

    await alice.switch_to("#lobby")
    await expect(alice.page).to_have_title("#lobby · hubbub")
    mentioned = alice.messages().locator(".row.mention")
    await expect(mentioned).to_have_count(2)
    await expect(mentioned.nth(0)).to_contain_text("@Alice: lunch?")
    await expect(mentioned.nth(1)).to_contain_text("alice's build is red")
    await alice.say("alice is me, not a mention")  # one's own line is not highlighted
    await expect(alice.messages().locator(".row.self")).to_contain_text("alice is me")
    await expect(mentioned).to_have_count(2)

    # after a nick change, the new nick is the one that rings
    await alice.say("/nick alicia")
    await expect(alice.page.locator("#nick-label")).to_have_text("alicia")
    carol.send("PRIVMSG #lobby :alice?")
    carol.send("PRIVMSG #lobby :alicia!")
    await expect(alice.messages().locator(".row.message").last).to_contain_text("alicia!")
    await expect(mentioned).to_have_count(3)
    await expect(mentioned.last).to_contain_text("alicia!")


# -- private conversations -------------------------------------------------------------------------


async def test_a_private_conversation_someone_else_opened(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG alice :hi alice, got a minute?")
    carol.send("PRIVMSG alice :\x01ACTION waves\x01")
    query = buffer_item(alice, "carol")
    await expect(query.locator(".badge.mention")).to_have_text("2")
    await expect(alice.page).to_have_title("(2) #lobby · hubbub")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#lobby")  # not pulled away
    await expect(alice.messages()).not_to_contain_text("got a minute")

    await alice.switch_to("carol")
    await expect(alice.page).to_have_title("carol · hubbub")
    await expect(alice.page.locator("#topic")).to_have_text("Private conversation")
    await expect(query.locator(".badge")).to_have_text("")
    await expect(alice.messages().locator(".row.message")).to_have_text([re.compile("hi alice, got a minute")])
    await expect(alice.messages().locator(".row.action")).to_have_text(re.compile("carol waves"))
    await alice.say("sure, what's up?")
    await carol.expect("PRIVMSG", "carol", "sure, what's up?")
    await expect(alice.messages().locator(".row.message.self")).to_contain_text("sure, what's up?")

    carol.send("QUIT :dinner")
    await expect(alice.messages().locator(".chip.quit")).to_have_text("carol quit (Quit: dinner)")
    await alice.say("are you still there?")
    await expect(error_rows(alice).last).to_contain_text("carol")  # no such nick, said where one looks


# -- /me --------------------------------------------------------------------------------------------


async def test_me_actions_are_shown_as_actions_to_everyone(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    carol = await irc_user("carol", "#lobby")
    await alice.say("/me waves to everyone 👋")
    await carol.expect("PRIVMSG", "#lobby", "\x01ACTION waves to everyone 👋\x01")
    for user in (alice, bob):
        action = user.messages().locator(".row.action").last
        await expect(action.locator(".text")).to_have_text(re.compile(r"alice waves to everyone 👋$"))
        assert await action.locator(".text").evaluate("el => getComputedStyle(el).fontStyle") == "italic"
    await expect(bob.messages().locator(".row.message")).to_have_count(0)  # not a plain message

    # in a private conversation too
    await bob.say("/msg alice psst")
    await alice.switch_to("bob")
    await alice.say("/me nods")
    await bob.switch_to("alice")
    await expect(bob.messages().locator(".row.action .text")).to_have_text(re.compile(r"alice nods$"))
    await expect(alice.messages().locator(".row.action .text")).to_have_text(re.compile(r"alice nods$"))


# -- nick changes and topics ---------------------------------------------------------------------------


async def test_a_nick_change_is_shown_in_every_shared_channel_and_only_there(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#a #b #c")
    carol = await irc_user("carol", "#a", "#b")
    dave = await irc_user("dave", "#c")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "carol"])
    carol.send("NICK carolyn")
    for channel in ("#a", "#b"):
        await alice.switch_to(channel)
        await expect(alice.messages().locator(".chip.nick")).to_have_text(["carol is now carolyn"])
        await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "carolyn"])
        # worded and weighted as a join or a part is, not a nick to click
        change = alice.messages().locator(".chip.nick")
        style = await change.evaluate("e => [getComputedStyle(e).fontWeight, getComputedStyle(e).cursor]")
        joined = alice.messages().locator(".chip.join").first
        assert style == await joined.evaluate("e => [getComputedStyle(e).fontWeight, getComputedStyle(e).cursor]")
    await alice.switch_to("#c")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "dave"])
    await expect(alice.messages().locator(".chip.nick")).to_have_count(0)

    await alice.say("/nick alicia")
    await dave.expect("NICK", "alicia")
    for channel in ("#a", "#b", "#c"):
        await alice.switch_to(channel)
        await expect(alice.messages().locator(".chip.nick").last).to_have_text("alice is now alicia")
        await expect(alice.page.locator("#member-list")).to_contain_text("@alicia")
    await expect(alice.page.locator("#buffer-list li.unread")).to_have_count(0)  # not news to count


async def test_the_topic_is_shown_on_joining_changed_live_and_cleared(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#lobby")
    carol.send("TOPIC #lobby :Welcome 👋 rules at https://example.org/rules")
    await carol.expect("TOPIC")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    topic = alice.page.locator("#topic")
    await expect(topic).to_have_text("Welcome 👋 rules at https://example.org/rules")
    await expect(topic).to_have_attribute("title", re.compile(r"\(set by carol\)$"))
    await expect(topic.locator("a")).to_have_attribute("href", "https://example.org/rules")

    carol.send("TOPIC #lobby :Meeting at five")
    await expect(topic).to_have_text("Meeting at five")
    # (the earlier change is there too, from the channel's history)
    await expect(alice.messages().locator(".row.topic .text").last).to_have_text(
        re.compile(r"carol changed the topic to: Meeting at five$")
    )
    await alice.say("/topic")
    await expect(alice.messages().locator(".row.info .text").last).to_have_text(re.compile(r"Topic: Meeting at five$"))
    await alice.say("/topic my own topic")  # +t and not an operator: refused, and said so
    await expect(error_rows(alice).last).to_contain_text("You're not channel operator")
    await expect(topic).to_have_text("Meeting at five")

    carol.send("TOPIC #lobby :")
    cleared = re.compile(r"carol cleared the topic$")
    await expect(alice.messages().locator(".row.topic .text").last).to_have_text(cleared)
    await expect(topic).to_have_text("")
    await alice.say("/topic")
    await expect(alice.messages().locator(".row.info .text").last).to_have_text(re.compile(r"No topic is set$"))


async def test_a_topic_that_is_gone_after_a_restart_is_not_shown(web_server, open_user, irc_user) -> None:
    alice = await open_user()
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    await alice.connect("alice", "#lobby")
    await alice.say("/topic before the restart")
    await expect(alice.page.locator("#topic")).to_have_text("before the restart")
    await web_server.restart()  # a new #lobby, with no topic
    await expect(alice.page.locator("#banner")).to_be_visible()
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered", timeout=20_000)
    carol = await irc_user("carol", "#lobby")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "carol"])
    carol.send("TOPIC #lobby")
    assert (await carol.expect(lambda m: m.command in ("331", "332"))).command == "331"  # none set
    await expect(alice.page.locator("#topic")).to_have_text("", timeout=2_000)


@pytest.mark.parametrize("named", [False, True])
async def test_a_login_typed_to_nickserv_is_the_one_a_reload_logs_in_with(web_server, open_user, irc_user,
                                                                         named: bool) -> None:
    """NickServ tells people to log in with IDENTIFY: a reload (the password remembered,
    as asked) logs in with it by SASL, under the account it named, rather than coming
    back without it and being renamed to a guest 30 s later."""
    owner = await registered_account(web_server.runtime, "edgar", PASSWORD)
    await owner.close()
    alice = await open_user()
    page = alice.page
    nick = "eddie" if named else "edgar"
    await page.fill("#connect-nick", nick)
    await page.fill("#connect-channels", "#lobby")
    await page.check("#connect-remember")
    await page.click("#connect-submit")
    await expect(page.locator("#member-list")).to_contain_text(nick)
    await alice.say(f"/msg NickServ IDENTIFY {'edgar ' if named else ''}{PASSWORD}")
    await expect(alice.messages()).to_contain_text("You're now logged in as edgar")
    await page.reload()
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered", timeout=20_000)
    carol = await irc_user("carol", "#lobby")
    carol.send(f"WHOIS {nick}")
    account = await carol.expect(lambda m: m.command in ("330", "318"))
    assert (account.command, account.params[1:3]) == ("330", [nick, "edgar"])


async def test_away_stays_away_after_a_reconnection_as_the_page_says(web_server, open_user, irc_user) -> None:
    """A new connection is not away: the page, which still said "(away)", is away again
    on it, with the same message, for the others to be told."""
    alice = await open_user()
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    await alice.connect("alice", "#lobby")
    await alice.say("/away gone to lunch")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice (away)")
    await web_server.restart()
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered", timeout=20_000)
    carol = await irc_user("carol", "#lobby")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "carol"])
    carol.send("WHOIS alice")
    assert (await carol.expect("301")).params[-1] == "gone to lunch"
    await expect(alice.page.locator("#nick-label")).to_have_text("alice (away)")
    await alice.say("/back")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice")


async def test_away_members_are_faded_and_a_message_to_them_says_they_are_away(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    member = alice.page.locator("#member-list li", has_text="carol")
    await expect(member).not_to_have_class(re.compile(r"\baway\b"))
    carol.send("AWAY :out for lunch")
    await expect(member).to_have_class(re.compile(r"\baway\b"))
    await expect(member.locator("button")).to_have_attribute("title", "carol (away)")
    await alice.say("/msg carol are you there?")
    await expect(alice.page.locator("#buffer-title")).to_have_text("carol")
    away = re.compile(r"carol is away: out for lunch$")
    await expect(alice.messages().locator(".row.info .text").last).to_have_text(away)
    carol.send("AWAY")
    await alice.switch_to("#lobby")
    await expect(member).not_to_have_class(re.compile(r"\baway\b"))


async def test_leaving_and_rejoining_shows_what_was_said_meanwhile_in_order(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :before you left")
    await expect(alice.messages()).to_contain_text("before you left")
    await alice.say("/part back soon")
    await expect(alice.page.locator("#buffer-list li.parted")).to_have_text(re.compile("#lobby"))
    carol.send("PRIVMSG #lobby :while you were out")
    carol.send("PRIVMSG #lobby :alice will read this later")
    await sync(carol)
    await alice.say("/join #lobby")
    await expect(alice.page.locator("#buffer-list li.parted")).to_have_count(0)
    await expect(alice.messages()).to_contain_text("alice will read this later")
    carol.send("PRIVMSG #lobby :welcome back")
    await expect(alice.messages().locator(".row.message").last).to_contain_text("welcome back")
    texts = await message_texts(alice)
    assert texts == ["before you left", "while you were out", "alice will read this later", "welcome back"], texts
    await expect(alice.messages().locator(".row.mention")).to_have_count(1)
    await expect(alice.messages().locator(".chip.part")).to_have_text(["alice left (back soon)"])
    await expect(alice.page.locator("#member-list li")).to_have_text(["alice", "carol"])  # no op left to keep


# -- a big channel --------------------------------------------------------------------------------------


async def test_a_channel_with_hundreds_of_members(servers, open_page) -> None:
    runtime = await servers.start("limits.max_clients_per_ip=0")
    alice = await open_page(runtime.web_url())
    await alice.connect("alice", "#big")
    many = 300
    users = await asyncio.gather(*(servers.user(runtime, f"user{i:03d}", "#big") for i in range(many)))
    page = alice.page
    await expect(page.locator("#member-count")).to_have_text(f"{many + 1} members")
    members = page.locator("#member-list li")
    await expect(members).to_have_count(many + 1)
    names = await members.all_text_contents()
    assert names == ["@alice"] + [f"user{i:03d}" for i in range(many)], names[:5]
    # the list scrolls: the last one can be reached and clicked
    last = members.last
    await last.scroll_into_view_if_needed()
    await expect(last).to_be_in_viewport()
    # the joins make one folded line, not 300
    await expect(alice.messages().locator(".row.presence").last.locator(".chip.join")).to_have_count(many)

    users[150].send("PART #big :bye")
    await expect(page.locator("#member-count")).to_have_text(f"{many} members")
    await expect(page.locator("#member-list")).not_to_contain_text("user150")
    # someone joining now gets the whole list at once (NAMES over many lines)
    bob = await open_page(runtime.web_url())
    await bob.connect("bob", "#big")
    await expect(bob.page.locator("#member-count")).to_have_text(f"{many + 1} members")
    await expect(bob.page.locator("#member-list li").first).to_have_text("@alice")
    await last.click()  # the last member opens a private conversation
    await expect(page.locator("#buffer-title")).to_have_text(f"user{many - 1:03d}")


# -- long words, emoji, right-to-left --------------------------------------------------------------------


_NO_SIDEWAYS = """() => {
    const doc = document.scrollingElement, m = document.getElementById('messages');
    return [doc.scrollWidth, innerWidth, m.scrollWidth, m.clientWidth];
}"""


async def test_long_words_and_urls_do_not_scroll_sideways_on_a_phone(open_user, irc_user) -> None:
    alice = await open_user(viewport=PHONE_375)
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :\x01ACTION shouts " + "A" * 120 + "\x01")
    carol.send("NOTICE #lobby :" + "notice" * 40)
    carol.send("PRIVMSG #lobby :\x11" + "monospace_" * 30 + "\x11")
    carol.send("PRIVMSG #lobby :see https://example.org/a/very/long/path/" + "segment-" * 40 + "end")
    carol.send("PRIVMSG #lobby :" + "😀" * 80)
    carol.send("PRIVMSG alice :" + "private" * 40)
    await expect(alice.messages().locator(".row", has_text="😀😀😀")).to_have_count(1)
    await expect(badge(alice, "carol")).to_have_text("1")
    sizes = await alice.page.evaluate(_NO_SIDEWAYS)
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes
    await alice.page.click("#toggle-buffers")
    await alice.page.locator("#buffer-list .buffer", has_text="carol").click()
    await expect(alice.messages()).to_contain_text("privateprivate")
    sizes = await alice.page.evaluate(_NO_SIDEWAYS)
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes


async def test_a_long_topic_tapped_open_on_a_phone_wraps(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#lobby")
    url = "https://example.org/download?token=" + "Zm9vYmFyYmF6cXV4" * 12
    carol.send(f"TOPIC #lobby :Read this first: {url}")
    await carol.expect("TOPIC")
    alice = await open_user(viewport=PHONE_375)
    await alice.connect("alice", "#lobby")
    topic = alice.page.locator("#topic")
    await topic.click(position={"x": 5, "y": 5})
    await expect(topic).to_have_class(re.compile(r"\bexpanded\b"))
    right = await topic.evaluate(
        "el => { const r = document.createRange(); r.selectNodeContents(el); return r.getBoundingClientRect().right; }"
    )
    sizes = await alice.page.evaluate(_NO_SIDEWAYS)
    assert right <= PHONE_375["width"] and sizes[0] <= sizes[1], (right, sizes)


async def test_emoji_typed_in_the_browser_arrive_intact(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    carol = await irc_user("carol", "#lobby")
    text = "family 👨‍👩‍👧‍👦 flag 🇺🇦 thumbs 👍🏿 keycap 1️⃣ heart ❤️ café"
    await alice.say(text)
    assert (await carol.expect("PRIVMSG", "#lobby")).params[1] == text
    await expect(bob.messages().locator(".row.message .text").last).to_have_text(text)
    await alice.say("/topic 🎉 party 🎉")
    assert (await carol.expect("TOPIC", "#lobby")).params[1] == "🎉 party 🎉"
    await expect(bob.page.locator("#topic")).to_have_text("🎉 party 🎉")
    await expect(alice.page.locator("#input")).to_have_value("")


async def test_right_to_left_messages_read_right_to_left(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :שלום לכולם!")
    text = alice.messages().locator(".row.message .text").last
    await expect(text).to_have_text("שלום לכולם!")
    # Where does the reader see the first letter and the "!"? In right-to-left text the
    # first letter is rightmost and the final "!" leftmost.
    first, bang = await text.evaluate("""el => {
        const node = [...el.childNodes].find((n) => n.nodeType === 3) || el.firstChild.firstChild;
        const at = (i) => { const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
                            return r.getBoundingClientRect().left; };
        return [at(0), at(node.textContent.length - 1)];
    }""")
    assert bang < first, (first, bang)


async def _restart_while_the_page_waits(servers, runtime, page, *overrides: str) -> Runtime:
    """Stop and start the server on the same ports while the page is held still (its timers
    paused: it cannot reconnect yet); the caller lets it go with `_let_go`."""
    # pause_at moves the page's clock on to a time and stops it there; the clock runs on
    # while this call travels, and a time it has passed is refused ("Cannot fast-forward
    # to the past"): a second ahead, not a hair (10 ms failed on a busy machine). Timers
    # due within that second fire once, as they would have a second later anyway.
    now_ms = await page.evaluate("Date.now()")
    await page.clock.pause_at((now_ms + 1000) / 1000)  # seconds, in Playwright for Python
    listen = await servers.stop(runtime)
    return await servers.start(*overrides, *listen)


async def _let_go(page) -> None:
    await page.clock.resume()
    await page.clock.run_for(35_000)  # past the longest reconnection delay
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered")


# -- a server restart ---------------------------------------------------------------------------------------


async def test_after_a_restart_missed_messages_come_back_once_and_in_order(servers, open_page, tmp_path: Path) -> None:
    store = f"store.db='{tmp_path / 'hubbub.db'}'"
    runtime = await servers.start(store)
    alice = await open_page(runtime.web_url())
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    await alice.page.clock.install()
    await alice.connect("alice", "#lobby #other")
    await alice.switch_to("#lobby")
    carol = await servers.user(runtime, "carol", "#lobby")
    carol.send("PRIVMSG #lobby :before one")
    carol.send("PRIVMSG #lobby :before two")
    # carol's lines have reached the server: alice's, said now, comes after them (sent at
    # once, over another connection, it could get there first and be stamped earlier)
    await expect(alice.messages().locator(".row.message").last).to_contain_text("before two")
    await alice.say("mine before")
    await expect(alice.messages().locator(".row.message").last).to_contain_text("mine before")
    carol.send("PRIVMSG alice :a private word before")
    await expect(badge(alice, "carol")).to_have_text("1")

    # The page is held still while the server restarts and carol talks.
    runtime = await _restart_while_the_page_waits(servers, runtime, alice.page, store)
    carol = await servers.user(runtime, "carol", "#lobby")
    carol.send("PRIVMSG #lobby :said while you were away")
    await sync(carol)
    assert not [m for m in carol.received if m.command == "JOIN" and m.source.startswith("alice!")]  # still away
    await _let_go(alice.page)
    await expect(alice.messages()).to_contain_text("said while you were away")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@carol", "alice"])
    carol.send("PRIVMSG #lobby :after")
    await expect(alice.messages().locator(".row.message").last).to_contain_text("after")
    texts = await message_texts(alice)
    assert texts == ["before one", "before two", "mine before", "said while you were away", "after"], texts
    await expect(alice.messages().locator(".chip", has_text="alice joined")).to_have_count(2)  # once per join
    await alice.switch_to("#other")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice"])
    await expect(alice.page.locator("#buffer-list li.parted")).to_have_count(0)
    await alice.switch_to("carol")  # the private conversation is kept as it was, with no error
    await expect(alice.messages().locator(".row.message .text")).to_have_text(["a private word before"])
    await expect(error_rows(alice)).to_have_count(0)
    await alice.switch_to("hubbub")  # where only the server's goodbye is in red
    await expect(error_rows(alice)).to_have_text([re.compile(r"Closing Link: .*\(Server shutting down\)$")])


async def test_messages_missed_during_a_restart_count_as_unread(servers, open_page, tmp_path: Path) -> None:
    store = f"store.db='{tmp_path / 'hubbub.db'}'"
    runtime = await servers.start(store)
    alice = await open_page(runtime.web_url())
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    await alice.page.clock.install()
    await alice.connect("alice", "#other #lobby")  # looking at #other
    carol = await servers.user(runtime, "carol", "#lobby")
    carol.send("PRIVMSG #lobby :seen before")
    await expect(badge(alice, "#lobby")).to_have_text("1")
    await alice.switch_to("#lobby")
    await alice.switch_to("#other")
    runtime = await _restart_while_the_page_waits(servers, runtime, alice.page, store)
    carol = await servers.user(runtime, "carol", "#lobby")
    carol.send("PRIVMSG #lobby :alice, you missed this")
    await sync(carol)
    await _let_go(alice.page)
    await alice.page.wait_for_function(
        "() => window.hubbub.state.buffer('#lobby').messages.some((r) => r.text === 'alice, you missed this')"
    )  # fmt: skip
    await expect(badge(alice, "#lobby")).to_have_text("1", timeout=2_000)
    await expect(badge(alice, "#lobby")).to_have_class(re.compile(r"\bmention\b"))


async def test_a_line_typed_while_disconnected_is_kept_and_sent_once_back(web_server, open_user, irc_user) -> None:
    alice = await open_user()
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    await alice.connect("alice", "#lobby")
    await alice.reconnect_only_when_told()  # a slow restart let its timer win the race
    await web_server.runtime.stop()
    await expect(alice.page.locator("#banner-text")).to_contain_text("Disconnected")
    await alice.say("hello? anyone?")
    await expect(error_rows(alice).last).to_have_text(re.compile(r"Not connected: the message was not sent\.$"))
    await expect(alice.page.locator("#input")).to_have_value("hello? anyone?")
    await web_server.restart()
    await expect(alice.page.locator("#reconnect-now")).to_be_visible()
    await alice.page.click("#reconnect-now")
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await expect(alice.page.locator("#banner")).to_be_hidden()
    carol = await irc_user("carol", "#lobby")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "carol"])
    await alice.page.press("#input", "Enter")
    await carol.expect("PRIVMSG", "#lobby", "hello? anyone?")
    await expect(alice.messages().locator(".row.self", has_text="hello? anyone?")).to_have_count(1)
    await expect(alice.page.locator("#input")).to_have_value("")


# -- the keyboard --------------------------------------------------------------------------------------------


async def test_tab_completes_recent_speakers_first_mid_sentence_and_channels(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #lounge")
    await alice.switch_to("#lobby")
    await irc_user("carol", "#lobby")
    caroline = await irc_user("caroline", "#lobby")
    caroline.send("PRIVMSG #lobby :anyone?")
    page = alice.page
    await expect(alice.messages()).to_contain_text("anyone?")
    await page.fill("#input", "hi ca")
    await page.press("#input", "Tab")
    await expect(page.locator("#input")).to_have_value("hi caroline")  # she spoke last: first
    await page.press("#input", "Tab")
    await expect(page.locator("#input")).to_have_value("hi carol")
    await page.press("#input", "Shift+Tab")
    await expect(page.locator("#input")).to_have_value("hi caroline")
    await page.keyboard.type(", see #lo")
    await page.press("#input", "Tab")
    await expect(page.locator("#input")).to_have_value("hi caroline, see #lobby")
    await page.press("#input", "Tab")
    await expect(page.locator("#input")).to_have_value("hi caroline, see #lounge")
    await page.press("#input", "Enter")
    await expect(alice.messages().locator(".row.self")).to_contain_text("hi caroline, see #lounge")


async def test_shift_tab_steps_back_through_three_completions_and_first_gives_the_last(open_user, irc_user) -> None:
    """Shift pressed alone is a key too: it ended the completion, so that Shift+Tab began a
    new one (from the same word, the second-to-last match) rather than stepping back."""
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    for nick in ("cara", "carl", "cat"):
        await irc_user(nick, "#lobby")
    page = alice.page
    await expect(page.locator("#member-list li")).to_have_count(4)
    await page.fill("#input", "ca")
    await page.press("#input", "Tab")
    first = await page.locator("#input").input_value()
    await page.press("#input", "Tab")
    assert await page.locator("#input").input_value() != first
    await page.press("#input", "Shift+Tab")
    await expect(page.locator("#input")).to_have_value(first)  # one step back
    await expect(page.locator("#input")).to_be_focused()
    await page.fill("#input", "ca")
    await page.press("#input", "Tab")
    await page.press("#input", "Tab")
    await page.press("#input", "Tab")
    last = await page.locator("#input").input_value()
    await page.fill("#input", "ca")
    await page.press("#input", "Shift+Tab")
    await expect(page.locator("#input")).to_have_value(last)


async def test_tab_completion_follows_a_nick_change(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :hello")
    carol.send("NICK carolyn")
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "carolyn"])
    await alice.page.fill("#input", "car")
    await alice.page.press("#input", "Tab")
    await expect(alice.page.locator("#input")).to_have_value("carolyn: ", timeout=2_000)


async def test_up_arrow_recalls_sent_lines_only_from_the_first_line(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    box = page.locator("#input")
    for line in ("first sent", "second sent", "second sent"):  # the same twice is kept once
        await alice.say(line)
        await expect(alice.messages().locator(".row.self").last).to_contain_text(line)
    await box.focus()
    await page.keyboard.type("draft one")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("draft two")
    await expect(box).to_have_value("draft one\ndraft two")
    await page.keyboard.press("ArrowUp")  # on the second line: just moves up a line
    await expect(box).to_have_value("draft one\ndraft two")
    await page.keyboard.press("ArrowUp")
    await expect(box).to_have_value("second sent")
    await page.keyboard.press("ArrowUp")
    await expect(box).to_have_value("first sent")
    await page.keyboard.press("ArrowDown")
    await expect(box).to_have_value("second sent")
    await page.keyboard.press("ArrowDown")
    await expect(box).to_have_value("draft one\ndraft two")  # the draft is back
    await page.keyboard.press("ArrowUp")  # the caret is at the end (last line): moves up a line first
    await page.keyboard.press("ArrowUp")
    await expect(box).to_have_value("second sent")
    await page.keyboard.type(" again")
    await page.keyboard.press("Enter")
    await expect(alice.messages().locator(".row.self").last).to_contain_text("second sent again")
    await expect(box).to_have_value("")


async def test_a_message_growing_over_several_lines_keeps_the_newest_lines_in_sight(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    for i in range(80):
        carol.send(f"PRIVMSG #lobby :line {i:02d}")
    await expect(alice.messages().locator(".row.message", has_text="line 79")).to_be_in_viewport()
    page = alice.page
    await page.locator("#input").focus()
    for i in range(6):  # the box grows a line at each
        await page.keyboard.type(f"part {i}")
        await page.keyboard.press("Shift+Enter")
    await expect(alice.messages().locator(".row.message", has_text="line 79")).to_be_in_viewport()
    await expect(page.locator("#jump")).to_be_hidden()
    carol.send("PRIVMSG #lobby :said meanwhile")
    await expect(alice.messages().locator(".row.message", has_text="said meanwhile")).to_be_in_viewport()


async def test_page_up_from_the_input_scrolls_back_and_new_lines_do_not_yank(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    for i in range(80):
        carol.send(f"PRIVMSG #lobby :line {i:02d}")
    await expect(alice.messages().locator(".row.message").last).to_contain_text("line 79")
    await expect(alice.messages().locator(".row.message", has_text="line 79")).to_be_in_viewport()
    await alice.page.locator("#input").focus()
    await alice.page.keyboard.press("PageUp")
    await alice.page.keyboard.press("PageUp")
    await expect(alice.messages().locator(".row.message", has_text="line 79")).not_to_be_in_viewport()
    await expect(alice.page.locator("#jump")).to_have_text("↓ Newest")
    await expect(alice.page.locator("#input")).to_be_focused()
    carol.send("PRIVMSG #lobby :something new")
    await expect(alice.page.locator("#jump")).to_have_text("↓ 1 new message")
    await expect(alice.messages().locator(".row.message", has_text="something new")).not_to_be_in_viewport()
    jump = alice.page.locator("#jump")
    for _ in range(8):  # Page Down until at the newest, as a reader does
        await alice.page.keyboard.press("PageDown")
        try:
            await expect(jump).to_be_hidden(timeout=400)
            break
        except AssertionError:
            continue
    await expect(jump).to_be_hidden()
    await expect(alice.messages().locator(".row.message", has_text="something new")).to_be_in_viewport()


# The first message row in the lower half of the list: its text, and its top from the list's.
MIDDLE_ROW = """() => {
  const list = document.getElementById('messages').getBoundingClientRect();
  const row = [...document.querySelectorAll('#messages .row.message')]
    .find((r) => r.getBoundingClientRect().top >= list.top + list.height / 2);
  return [row.querySelector('.text').textContent, row.getBoundingClientRect().top - list.top];
}"""
# The top (from the list's) of the message row saying exactly `text`.
ROW_TOP = """(text) => {
  const list = document.getElementById('messages').getBoundingClientRect();
  const row = [...document.querySelectorAll('#messages .row.message')]
    .find((r) => r.querySelector('.text').textContent === text);
  return row.getBoundingClientRect().top - list.top;
}"""
# A page of history with one line, `text`, said (by its time) right after the line
# `after` and before the next one said later: placed among what the conversation shows,
# which is drawn again. (Of lines said in the same millisecond, it would go first.)
PLACE_AFTER = """([after, text]) => {
  const s = window.hubbub.state;
  const b = s.activeBuffer;
  const at = b.messages.find((r) => r.text === after);
  const rec = s.record("message", { nick: "dave", text });
  Object.assign(rec, { time: at.time + 0.5, serverTime: true, msgid: text });
  return s.insertHistory(b, [rec]);
}"""


async def a_long_conversation(open_user, irc_user):
    """alice in #lobby, where carol said "line 000" to "line 139" (the first fifty drawn
    before the rest came, so that each is later by its time too); alice follows it, and
    "line 139", the newest, is in view. Returns alice, carol and that newest row."""
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    for i in range(50):
        carol.send(f"PRIVMSG #lobby :line {i:03d}")
    await expect(alice.messages().locator(".row.message", has_text="line 049")).to_have_count(1)
    for i in range(50, 140):
        carol.send(f"PRIVMSG #lobby :line {i:03d}")
    newest = alice.messages().locator(".row.message", has_text="line 139")
    await expect(newest).to_be_in_viewport()
    return alice, carol, newest


async def test_a_redraw_while_scrolled_up_keeps_the_line_read_in_place(open_user, irc_user) -> None:
    """The conversation drawn again while the reader is scrolled up (a page of history
    placed among what is shown, above the window) leaves the line they were reading where
    it was on screen, and does not go to the newest."""
    alice, carol, newest = await a_long_conversation(open_user, irc_user)
    page = alice.page
    await page.locator("#input").focus()
    await page.keyboard.press("PageUp")
    await expect(newest).not_to_be_in_viewport()
    above = alice.messages().locator(".row.message", has_text="line 049")
    await expect(above).to_have_count(1)  # drawn, above the window
    await expect(above).not_to_be_in_viewport()
    text, top = await page.evaluate(MIDDLE_ROW)
    assert await page.evaluate(PLACE_AFTER, ["line 049", "placed among them"]) == 1
    await expect(alice.messages().locator(".row.message", has_text="placed among them")).to_have_count(1)
    assert abs(await page.evaluate(ROW_TOP, text) - top) < 1, text  # the reader's place, kept
    await expect(newest).not_to_be_in_viewport()
    await expect(page.locator("#jump")).to_be_visible()
    carol.send("PRIVMSG #lobby :said below")  # still not following: counted below
    await expect(page.locator("#jump")).to_have_text("↓ 1 new message")
    assert abs(await page.evaluate(ROW_TOP, text) - top) < 1, text


# -- refusals ---------------------------------------------------------------------------------------------------


async def test_what_the_page_says_when_a_channel_refuses(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#secret", "#full", "#vault", "#quiet")
    carol.send("MODE #secret +i")
    carol.send("MODE #full +l 1")
    carol.send("MODE #vault +k sesame")
    await sync(carol)
    alice = await open_user()
    await alice.connect("alice", "#quiet")
    page = alice.page

    await alice.say("/join #secret")
    await expect(error_rows(alice).last).to_have_text(re.compile(r"#secret: Cannot join channel \(\+i\)$"))
    await alice.say("/join #full")
    await expect(error_rows(alice).last).to_have_text(re.compile(r"#full: Cannot join channel \(\+l\)$"))
    await alice.say("/join #vault open-up")
    await expect(error_rows(alice).last).to_have_text(re.compile(r"#vault: Cannot join channel \(\+k\)$"))
    await alice.say("/nick carol")
    await expect(error_rows(alice).last).to_have_text(re.compile(r"The nickname carol is already in use$"))
    await expect(page.locator("#nick-label")).to_have_text("alice")
    await expect(page.locator("#buffer-title")).to_have_text("#quiet")
    await expect(page.locator("#buffer-list li")).to_have_count(2)  # the server and #quiet: nothing half-joined

    carol.send("INVITE alice #secret")
    await expect(alice.messages().locator(".row.info").last).to_contain_text("carol invites you to #secret")
    await alice.say("/join #secret")
    await expect(page.locator("#buffer-title")).to_have_text("#secret")
    await alice.switch_to("#quiet")

    carol.send("MODE #quiet +m")
    moderated = "carol moderated #quiet: only people with a voice talk (+m)"
    await expect(alice.messages().locator(".row.mode").last).to_contain_text(moderated)
    await alice.say("can anyone hear me?")
    await expect(error_rows(alice).last).to_have_text(
        re.compile(r"Not sent to #quiet: “can anyone hear me\?”\. Cannot send to channel \(\+m\)\. It is back in the")
    )
    await expect(alice.messages().locator(".row.self")).to_have_count(0)  # not shown as said
    carol.send("MODE #quiet -m+b alice!*@*")
    await expect(alice.messages().locator(".row.mode").last).to_contain_text("-m+b alice!*@*")
    await alice.say("and now?")
    await expect(error_rows(alice).last).to_have_text(
        re.compile(r"“and now\?”\. Cannot send to channel \(you are banned\)\.")
    )
    await alice.say("/kick carol")
    await expect(error_rows(alice).last).to_have_text(re.compile(r"#quiet: You're not channel operator$"))
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
