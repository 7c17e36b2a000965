"""A third audit of the web client as people use it, in Debian's Chromium against hubbub.

What the earlier browser tests (test_chat, test_security, test_resilience, test_history,
test_browser_daily, test_browser_more) leave out: markup in kick reasons, away messages,
invitations, WHOIS channel lists, search results and tricky links; the keyboard's
multi-line message with emoji and right-to-left text; a 14 KB line, live and from
history; commands typed with a channel named; twenty channels on a desktop and on a
375x667 phone; a connection the server closes (an operator's KILL) while it keeps
running; a paste cut by a disconnection; date lines across days of history; a private
conversation's history between two accounts; a wrong account password; what the
browser keeps, with and without its scripts; accessibility basics.

Bugs found are strict xfails: each asserts what should happen and fails today.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("playwright")

import pytest_asyncio  # noqa: E402
from playwright.async_api import expect  # noqa: E402

from hubbub.app import Runtime  # noqa: E402
from hubbub.config import load  # noqa: E402
from tests.e2e_accounts.support import registered_account  # noqa: E402
from tests.helpers import LineClient, cheap_hash, connected, sync  # noqa: E402
from tests.web.ircv3_peer import EPOCH, IRCv3Peer  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

PHONE = {"width": 375, "height": 667}
# While the connection is down, the browser may log its refused WebSocket by itself.
REFUSED_WEBSOCKET = r"WebSocket connection to .* failed"
OPER_PASSWORD = "oper-words"
BEGINNING = "Beginning of the conversation"


# -- helpers ---------------------------------------------------------------------------------------


def buffer_item(user, name: str):
    """The conversation list's entry for exactly `name`."""
    return user.page.locator("#buffer-list li").filter(
        has=user.page.locator(".name", has_text=re.compile(rf"^{re.escape(name)}$"))
    )


def error_rows(user):
    return user.messages().locator(".row.error")


async def registered(user) -> None:
    await expect(user.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")


async def scroll_to_top_until(user, condition: str) -> None:
    """Scroll the message list to its top again and again, as a reader does, until
    `condition` (JS, of `m`, the list) holds."""
    await user.page.wait_for_function(
        f"() => {{ const m = document.getElementById('messages'); m.scrollTop = 0; return {condition}; }}",
        polling=100, timeout=20_000,
    )  # fmt: skip


@functools.cache
def oper_hash() -> str:
    return cheap_hash(OPER_PASSWORD)  # checked at the cost it was made at: the suite's cheap one


class OperServers:
    """hubbub servers (web listener on) with an operator block `admin`, which needs a
    configuration file; stopped, and their raw clients closed, at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.running: list[Runtime] = []
        self.clients: list[LineClient] = []

    async def start(self, *overrides: str) -> Runtime:
        path = self.tmp_path / f"hubbub{len(self.running)}.toml"
        path.write_text(f'[[opers]]\nname = "admin"\npassword_hash = "{oper_hash()}"\n', encoding="utf-8")
        config = load(str(path), ["listen.irc=['127.0.0.1:0']", "listen.web='127.0.0.1:0'",
                                  "limits.flood_control=false", "store.db=':memory:'", *overrides])  # fmt: skip
        runtime = Runtime(config)
        await runtime.start()
        self.running.append(runtime)
        return runtime

    async def user(self, runtime: Runtime, nick: str, *channels: str) -> LineClient:
        client = await connected(runtime, nick, *channels)
        self.clients.append(client)
        return client

    async def oper(self, runtime: Runtime, nick: str = "ircop") -> LineClient:
        client = await self.user(runtime, nick)
        client.send(f"OPER admin {OPER_PASSWORD}")
        await client.expect("381", nick)
        return client


@pytest_asyncio.fixture(loop_scope="session")
async def oper_servers(tmp_path: Path) -> AsyncIterator[OperServers]:
    """Ask for it before `open_page`: torn down after the pages are closed."""
    own = OperServers(tmp_path)
    yield own
    for client in own.clients:
        await client.close()
    for runtime in own.running:
        await runtime.stop()


# -- what people send is text ------------------------------------------------------------------------

PWN = "window.__pwned"
AWAY_PAYLOAD = f"<img src=x onerror={PWN}=1>"
KICK_PAYLOAD = f"<svg/onload={PWN}=2>"
EVIL_CHANNEL = f"#<img/src=x/onerror={PWN}=3>"
TOPIC_PAYLOAD = f'\x02<b>bold?</b>\x02 https://example.org/t"onclick="{PWN}=4'
LINKS = (
    f'see https://example.org/a"><img src=x onerror={PWN}=5> and \x02javascript:\x02{PWN}=6 and '
    f"\x0304https://ex\x02ample.org/b\x02\x03'onmouseover='{PWN}=7' and HTTPS://EXAMPLE.ORG/UPPER and "
    f"data:text/html,<script>{PWN}=8</script> vbscript:msgbox(1) jav&#x61;script:{PWN}=9"
)


async def test_markup_in_away_kick_invite_topic_links_whois_and_search_is_only_text(open_user, irc_user) -> None:
    mallory = await irc_user("mallory", "#lobby")  # first in: channel operator
    bob = await irc_user("bob", "#lobby")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    messages = alice.messages()

    mallory.send(f"PRIVMSG #lobby :{LINKS}")
    shown = messages.locator(".row.message").last
    await expect(shown.locator(".text")).to_have_text(re.sub(r"[\x02\x03]\d*", "", LINKS))
    # http(s) only, cut where a URL cannot go on; one crossing a formatting change is
    # drawn as one link per styled piece
    hrefs = await shown.locator("a").evaluate_all("links => links.map((a) => a.getAttribute('href'))")
    expected = ["https://example.org/a", "https://example.org/b", "https://example.org/UPPER"]
    assert list(dict.fromkeys(hrefs)) == expected, hrefs

    mallory.send(f"TOPIC #lobby :{TOPIC_PAYLOAD}")
    await expect(page.locator("#topic")).to_have_text(TOPIC_PAYLOAD.replace("\x02", ""))
    await expect(page.locator("#topic a")).to_have_attribute("href", "https://example.org/t")
    await alice.say("/topic")
    await expect(messages.locator(".row.info").last).to_contain_text(f"Topic: {TOPIC_PAYLOAD.replace(chr(2), '')}")

    mallory.send(f"KICK #lobby bob :{KICK_PAYLOAD}")
    await bob.expect("KICK")
    await expect(messages.locator(".row.kick .text")).to_have_text(
        re.compile(re.escape(f"mallory removed bob from the channel ({KICK_PAYLOAD})") + "$")
    )  # fmt: skip

    mallory.send(f"AWAY :{AWAY_PAYLOAD}")
    await mallory.expect("306")
    mallory.send(f"JOIN {EVIL_CHANNEL}")
    await mallory.expect("366")
    mallory.send(f"INVITE alice {EVIL_CHANNEL}")
    await expect(messages.locator(".row.info").last).to_contain_text(f"mallory invites you to {EVIL_CHANNEL}")
    await alice.say("/whois mallory")
    whois = messages.locator(".row.whois")
    await expect(whois.filter(has_text="is away")).to_have_text(re.compile(re.escape(f"is away: {AWAY_PAYLOAD}")))
    await expect(whois.filter(has_text=" is on ")).to_contain_text(EVIL_CHANNEL)
    await alice.say("/msg mallory are you there?")  # opens the conversation, where the 301 lands
    await expect(page.locator("#buffer-title")).to_have_text("mallory")
    await expect(messages.locator(".row.info").last).to_contain_text(f"mallory is away: {AWAY_PAYLOAD}")

    await alice.switch_to("#lobby")
    await page.fill("#search-input", "example.org")
    await page.press("#search-input", "Enter")
    results = page.locator("#search-results li")
    await expect(results.first).to_be_visible()
    await expect(page.locator("#search-results")).to_contain_text(f"<img src=x onerror={PWN}=5>")
    await page.keyboard.press("Escape")

    assert await page.evaluate(PWN) is None
    for selector in ("#app img", "#app script", "#app iframe", "#app object", "[onerror]", "[onload]",
                     "[onclick]", "[onmouseover]", "dialog img", "dialog script"):  # fmt: skip
        assert await page.locator(selector).count() == 0, selector
    for link in await page.locator("a:not(.skip)").all():
        assert re.match(r"^https?://", await link.get_attribute("href") or ""), await link.get_attribute("href")
        assert "noopener" in (await link.get_attribute("rel") or "")
    assert alice.dialogs == []


# -- sending -------------------------------------------------------------------------------------------


async def test_shift_enter_makes_one_message_of_lines_with_emoji_and_rtl_and_enter_mid_ime_does_not_send(
    open_user, irc_user
) -> None:  # fmt: skip
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    dave = await irc_user("dave", "#lobby")  # no draft/multiline: gets the lines one by one
    page = alice.page
    box = page.locator("#input")
    await box.focus()
    await page.keyboard.type("שלום לכולם 👋🏽")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("second line: مرحبا ✓ 🇺🇦")
    await expect(box).to_have_value("שלום לכולם 👋🏽\nsecond line: مرحبا ✓ 🇺🇦")
    # Enter while an input method is composing (a Japanese or Chinese keyboard) picks the
    # candidate; it must not send the half-typed line.
    await box.dispatch_event("keydown", {"key": "Enter", "isComposing": True})
    await expect(box).to_have_value("שלום לכולם 👋🏽\nsecond line: مرحبا ✓ 🇺🇦")
    await page.keyboard.press("Enter")
    await expect(box).to_have_value("")
    assert (await dave.expect("PRIVMSG", "#lobby")).params[1] == "שלום לכולם 👋🏽"
    assert (await dave.expect("PRIVMSG", "#lobby")).params[1] == "second line: مرحبا ✓ 🇺🇦"
    rows = bob.messages().locator(".row.message")
    await expect(rows).to_have_count(1)
    await expect(rows.locator(".text")).to_have_text("שלום לכולם 👋🏽\nsecond line: مرحبا ✓ 🇺🇦")
    assert await rows.locator(".text").evaluate("el => getComputedStyle(el).direction") == "rtl"


async def test_a_fourteen_kilobyte_line_reaches_everyone_whole_and_in_order(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    dave = await irc_user("dave", "#lobby")
    text = " ".join(f"w{i:05d}" for i in range(2000))  # 14 KB: past one multiline batch's limits
    await alice.page.fill("#input", text)
    await alice.page.press("#input", "Enter")
    pieces: list[str] = []
    while len("".join(pieces)) < len(text):
        pieces.append((await dave.expect("PRIVMSG", "#lobby", timeout=15)).params[1])
    assert "".join(pieces) == text  # cut between words, nothing lost, nothing doubled
    for user in (bob, alice):
        shown = user.messages().locator(".row.message .text")
        await expect(shown.last).to_contain_text("w01999")
        assert "".join(await shown.all_text_contents()) == text


async def test_typed_commands_name_their_channels_and_say_what_they_do(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby", "#two")
    page = alice.page
    await alice.say("/join one,two")  # the "#" left out, as the help says it may be
    await expect(page.locator("#buffer-title")).to_have_text("#one")
    await expect(buffer_item(alice, "#two")).to_have_count(1)
    await carol.expect("JOIN", "#two")
    await alice.switch_to("#lobby")
    await alice.say("/part #two off to bed now")  # another channel than the one shown
    assert (await carol.expect("PART", "#two")).params[1] == "off to bed now"
    await expect(page.locator("#buffer-list li.parted")).to_have_text(re.compile("#two"))
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await alice.say("/msg #one a word in #one")  # to a channel: said there, not switched to
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await alice.say("/away gone to lunch")
    await expect(page.locator("#nick-label")).to_have_text("alice (away)")
    carol.send("WHOIS alice")
    assert (await carol.expect("301")).params[-1] == "gone to lunch"
    await alice.say("/back")
    await expect(page.locator("#nick-label")).to_have_text("alice")
    await alice.switch_to("#one")
    await expect(alice.messages().locator(".row.self .text")).to_have_text([re.compile("a word in #one$")])


async def test_topic_with_a_channel_named_acts_on_that_channel(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")  # she made both: operator of both
    carol = await irc_user("carol", "#lobby", "#other")
    await alice.switch_to("#lobby")
    await alice.say("/topic #other")  # as in irssi, WeeChat, HexChat: show #other's topic
    await alice.say("/topic #other the other topic")
    first = await carol.expect("TOPIC")  # what the two lines changed first
    assert first.params == ["#other", "the other topic"], first.params


# -- many channels, and a phone ------------------------------------------------------------------------

TWENTY = [f"#room{i:02d}" for i in range(20)]


async def test_twenty_channels_joined_counted_switched_closed_and_remembered(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", " ".join(TWENTY))
    page = alice.page
    await expect(page.locator("#buffer-list li")).to_have_count(21)
    await expect(page.locator("#buffer-list li.parted")).to_have_count(0)
    carol = await irc_user("carol", *TWENTY)
    assert [await b.inner_text() for b in await page.locator("#buffer-list .name").all()] == ["hubbub", *TWENTY]

    for channel in TWENTY[5:10]:
        carol.send(f"PRIVMSG {channel} :news in {channel}")
    carol.send(f"PRIVMSG {TWENTY[19]} :alice: look at this")
    carol.send(f"PRIVMSG {TWENTY[19]} :and this")
    for channel in TWENTY[5:10]:
        await expect(buffer_item(alice, channel).locator(".badge")).to_have_text("1")
    last = buffer_item(alice, TWENTY[19])
    await expect(last.locator(".badge.mention")).to_have_text("2")
    await expect(page.locator(".badge.mention")).to_have_count(1)  # only where she was named
    await expect(last.get_by_role("button", name=f"{TWENTY[19]}, 2 unread, 1 mentioning you")).to_have_count(1)
    await expect(page).to_have_title(f"(1) {TWENTY[0]} · hubbub")

    await last.locator(".buffer").click()  # the last of the list, scrolled to
    await expect(page.locator("#buffer-title")).to_have_text(TWENTY[19])
    await expect(alice.messages().locator(".row.mention .text")).to_have_text([re.compile("alice: look at this$")])
    await expect(last.locator(".badge")).to_have_text("")
    await expect(page).to_have_title(f"{TWENTY[19]} · hubbub")
    await page.keyboard.press("Control+k")
    await page.keyboard.type("room07")
    await page.keyboard.press("Enter")
    await expect(page.locator("#buffer-title")).to_have_text(TWENTY[7])
    await expect(alice.messages()).to_contain_text(f"news in {TWENTY[7]}")

    for channel in TWENTY[:3]:  # closed with the × button: left, and gone from the list
        await buffer_item(alice, channel).get_by_role("button", name=f"Close {channel}").click()
        await carol.expect("PART", channel)
    await expect(page.locator("#buffer-list li")).to_have_count(18)
    await expect(page.locator("#buffer-title")).to_have_text(TWENTY[7])  # the one shown stays

    await page.reload()
    await registered(alice)
    await expect(page.locator("#buffer-list li")).to_have_count(18)
    await expect(page.locator("#buffer-list li.parted")).to_have_count(0)
    await sync(carol)
    rejoined = [m.params[0] for m in carol.received if m.command == "JOIN" and m.source.startswith("alice!")]
    assert sorted(rejoined) == TWENTY[3:], rejoined  # the seventeen kept, once each; not the three closed


async def test_on_a_375_by_667_phone_every_control_is_reachable(open_user, irc_user) -> None:
    carol = await irc_user("carol", TWENTY[0])
    carol.send(f"TOPIC {TWENTY[0]} :" + "a rather long topic for a phone screen " * 4)
    await carol.expect("TOPIC")
    for i in range(6):  # with the page's own connections, within the 16 one address may open
        await irc_user(f"member{i:02d}", TWENTY[0])
    alice = await open_user(viewport=PHONE)
    await alice.connect("alice", " ".join(TWENTY))
    page = alice.page

    def inside(box) -> bool:
        return (
            box is not None
            and box["x"] >= 0
            and box["y"] >= 0
            and box["x"] + box["width"] <= PHONE["width"] + 0.5
            and box["y"] + box["height"] <= PHONE["height"] + 0.5
        )

    for selector in ("#toggle-buffers", "#toggle-members", "#search-input", "#input", "#send", "#buffer-title",
                     "#topic"):  # fmt: skip
        assert inside(await page.locator(selector).bounding_box()), selector
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await alice.say("typed on a small phone")
    await carol.expect("PRIVMSG", TWENTY[0], "typed on a small phone")

    await page.click("#toggle-members")
    await expect(page.locator("#members")).to_have_css("transform", "none")  # slid in: measured where it stays
    last_member = page.locator("#member-list button").last
    await last_member.scroll_into_view_if_needed()
    assert inside(await last_member.bounding_box())
    await page.keyboard.press("Escape")
    await expect(page.locator("#scrim")).to_be_hidden()

    await page.click("#toggle-buffers")
    await expect(page.locator("#sidebar")).to_have_css("transform", "none")
    last_channel = buffer_item(alice, TWENTY[19]).locator(".buffer")
    await last_channel.scroll_into_view_if_needed()
    assert inside(await last_channel.bounding_box())
    for selector in ("#join-button", "#browse-button", "#help-button"):
        assert inside(await page.locator(selector).bounding_box()), selector
    await page.click("#browse-button")
    dialog = page.locator("#list-dialog")
    # the whole list came: each line of the answer drew the rows anew, so a row found while
    # it came may be gone when measured
    await expect(dialog.locator("#list-summary")).to_have_text(re.compile(r"^(\d+ channels?|Showing .*)$"))
    await expect(dialog.locator("#list-results li").first).to_be_visible()
    # measured until drawn for good: a row measured as the list is drawn anew has no box
    # (once in CI, under load)
    first_row = dialog.locator("#list-results button").first
    for _ in range(100):
        if inside(await first_row.bounding_box()):
            break
        await asyncio.sleep(0.05)
    assert inside(await first_row.bounding_box())
    assert inside(await dialog.get_by_role("button", name="Close").bounding_box())
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()
    await page.locator("#scrim").click(position={"x": 360, "y": 300})  # tapping beside the list closes it
    await expect(page.locator("#scrim")).to_be_hidden()
    await page.click("#toggle-buffers")
    await last_channel.click()
    await expect(page.locator("#buffer-title")).to_have_text(TWENTY[19])
    await expect(page.locator("#scrim")).to_be_hidden()


async def test_the_phone_menu_button_says_when_other_conversations_have_news(open_user, irc_user) -> None:
    alice = await open_user(viewport=PHONE)
    await alice.connect("alice", "#lobby #other")
    carol = await irc_user("carol", "#other")
    carol.send("PRIVMSG #other :alice, over here")
    await expect(buffer_item(alice, "#other").locator(".badge")).to_have_text("1")
    menu = alice.page.locator("#toggle-buffers")
    said = await menu.evaluate(
        "el => [el.getAttribute('aria-label') || '', ...[...el.querySelectorAll('*')].filter((n) => "
        "n.offsetParent !== null).map((n) => n.textContent)].join(' ')"
    )  # fmt: skip
    assert re.search(r"\d|unread|mention", said), said


# -- the server closes the connection ----------------------------------------------------------------


async def test_killed_by_an_operator_the_page_says_so_reconnects_rejoins_and_doubles_nothing(
    oper_servers, open_page
) -> None:  # fmt: skip
    runtime = await oper_servers.start()
    alice = await open_page(runtime.web_url())
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    page = alice.page
    await page.clock.install()  # her timers run on a clock the test can hold
    await alice.connect("alice", "#lobby #other")
    await alice.say("/nick alicia")
    await expect(page.locator("#nick-label")).to_have_text("alicia")
    await alice.switch_to("#lobby")
    carol = await oper_servers.user(runtime, "carol", "#lobby")
    op = await oper_servers.oper(runtime)
    carol.send("PRIVMSG #lobby :one")
    carol.send("PRIVMSG #lobby :two")
    # carol's lines first at the server (alice's, over another connection, could overtake them)
    await expect(alice.messages().locator(".row.message").last).to_contain_text("two")
    await alice.say("mine")
    await expect(alice.messages().locator(".row.message").last).to_contain_text("mine")

    now_ms = await page.evaluate("Date.now()")
    # no reconnection until the test says; a second ahead, not 10 ms, which the page's clock
    # had passed on a busy machine by the time the call arrived ("Cannot fast-forward to
    # the past"), as test_browser_daily's _restart_while_the_page_waits says
    await page.clock.pause_at((now_ms + 1000) / 1000)
    op.send("KILL alicia :enough of that")
    await carol.expect("QUIT")
    carol.send("PRIVMSG #lobby :said while you were out")
    await sync(carol)
    await page.clock.resume()
    await expect(page.locator("#banner")).to_be_visible()
    await page.clock.run_for(35_000)  # past the longest reconnection delay
    await registered(alice)
    await expect(page.locator("#nick-label")).to_have_text("alicia")  # the nick she had, not the first
    await expect(page.locator("#banner")).to_be_hidden()
    await expect(page.locator("#member-list li")).to_have_text(["alicia", "carol"])
    await expect(alice.messages()).to_contain_text("said while you were out")
    carol.send("PRIVMSG #lobby :after")
    await expect(alice.messages().locator(".row.message").last).to_contain_text("after")
    texts = await alice.messages().locator(".row.message .text").all_text_contents()
    assert texts == ["one", "two", "mine", "said while you were out", "after"], texts
    quits = alice.messages().locator(".chip.quit")
    await expect(quits).to_have_text([re.compile(r"alicia quit \(Killed .*enough of that")])
    await alice.switch_to("#other")
    await expect(page.locator("#buffer-list li.parted")).to_have_count(0)
    await expect(page.locator("#member-list li")).to_have_text(["@alicia"])
    await alice.switch_to("hubbub")  # why it ended, in plain words
    await expect(error_rows(alice)).to_have_text([re.compile(r"Closing Link: .*Killed .*enough of that")])


async def test_a_paste_cut_by_a_disconnection_is_finished_or_said_to_be_unsent(oper_servers, open_page) -> None:
    # Flood control on: the server takes the paste at its pace, so it is still going out
    # when the connection is cut.
    runtime = await oper_servers.start("limits.flood_control=true", "limits.flood_rate=40")
    alice = await open_page(runtime.web_url())
    alice.allowed_errors.append(REFUSED_WEBSOCKET)
    await alice.connect("alice", "#lobby")
    dave = await oper_servers.user(runtime, "dave", "#lobby")
    op = await oper_servers.oper(runtime)
    lines = [f"pasted line {i:03d}, long enough to fill a batch sooner" for i in range(150)]
    await alice.page.fill("#input", "\n".join(lines))
    await alice.page.press("#input", "Enter")
    await dave.expect("PRIVMSG", "#lobby", lines[0], timeout=20)  # the first batch is through
    op.send("KILL alice :cut")
    await dave.expect("QUIT")
    arrived = [m.params[1] for m in dave.received if m.command == "PRIVMSG"]
    assert 0 < len(arrived) < len(lines), len(arrived)  # the cut came mid-paste

    await registered(alice)
    await dave.expect("JOIN", "#lobby")
    await alice.say("typed after coming back")  # goes after whatever of the paste is still to go
    await dave.expect("PRIVMSG", "#lobby", "typed after coming back", timeout=20)
    arrived = [m.params[1] for m in dave.received if m.command == "PRIVMSG"]
    finished = arrived[:-1] == lines
    told = await error_rows(alice).filter(has_text=re.compile("not sent|not delivered|unsent")).count()
    assert finished or told, (len(arrived), await error_rows(alice).all_text_contents())


# -- history -----------------------------------------------------------------------------------------


async def test_date_lines_mark_each_day_once_while_scrolling_back_through_days(open_page) -> None:
    peer = IRCv3Peer()
    for i in range(300):  # 23 minutes apart: almost five days, in pages of 50
        peer.add(("dana", "erik")[i % 2], "#days", f"day message {i:03d}", EPOCH + timedelta(minutes=23 * i))
    await peer.start()
    alice = await open_page(peer.url)
    try:
        await alice.connect("alice", "#days")
        await scroll_to_top_until(alice, f"m.querySelector('.history-status').textContent === '{BEGINNING}'")
        texts = await alice.messages().locator(".row.message .text").all_text_contents()
        assert texts == [f"day message {i:03d}" for i in range(300)], texts[:3] + texts[-3:]
        # Walk the list as drawn: each date line names the day of every row under it, no
        # day is marked twice, and a day's first row has its date line right above it.
        walk = await alice.messages().evaluate("""m => {
            const label = new Intl.DateTimeFormat(undefined,
                { weekday: "long", year: "numeric", month: "long", day: "numeric" });
            const out = { days: [], wrong: [], missing: [] };
            let current = null;
            let previousDay = null;
            for (const node of m.children) {
                if (node.classList.contains("day")) { current = node.textContent; out.days.push(current); continue; }
                const time = node.querySelector("time.ts");
                if (!time) continue;
                const day = label.format(new Date(time.getAttribute("datetime")));
                if (day !== current) out.wrong.push([day, current, node.textContent]);
                if (previousDay !== null && day !== previousDay && node.previousElementSibling &&
                    !node.previousElementSibling.classList.contains("day")) out.missing.push(node.textContent);
                previousDay = day;
            }
            return out;
        }""")  # fmt: skip
        assert walk["wrong"] == [] and walk["missing"] == [], walk
        assert len(walk["days"]) == len(set(walk["days"])) >= 6, walk["days"]  # 5 days of history, and today
        assert walk["days"][0].endswith("2024") and "May 1" in walk["days"][0], walk["days"]
    finally:
        await alice.page.close()
        await peer.stop()


async def test_a_private_conversation_closed_and_reopened_scrolls_back_through_its_history(
    web_server, open_user
) -> None:  # fmt: skip
    """Private history is kept between two accounts: both log in."""
    owner = await registered_account(web_server.runtime, "alice", "alice-words")
    owner.send("QUIT")
    await owner.closed()
    carol = await registered_account(web_server.runtime, "carol", "carol-words")
    alice = await open_user()
    await alice.connect("alice", "#lobby", password="alice-words")
    await expect(alice.page.locator("#nick-label")).to_have_text("alice")
    for i in range(160):  # more than one page of history (100)
        carol.send(f"PRIVMSG alice :private {i:03d}")
    await sync(carol)
    query = buffer_item(alice, "carol")
    await expect(query.locator(".badge.mention")).to_have_text("160")
    await query.get_by_role("button", name="Close carol").click()
    await expect(query).to_have_count(0)
    await alice.say("/query carol")
    await expect(alice.page.locator("#buffer-title")).to_have_text("carol")
    await scroll_to_top_until(alice, f"m.querySelector('.history-status').textContent === '{BEGINNING}'")
    texts = await alice.messages().locator(".row.message .text").all_text_contents()
    assert texts == [f"private {i:03d}" for i in range(160)], texts[:3] + texts[-3:]


async def test_a_long_line_comes_back_whole_from_history(open_user) -> None:
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    text = " ".join(f"x{i:04d}" for i in range(200))  # 1.2 KB on one line: seen whole live...
    await bob.say(text)
    await expect(bob.messages().locator(".row.message .text")).to_have_text([text])
    alice = await open_user()
    await alice.connect("alice", "#lobby")  # ...and by who joins later, from history
    rows = alice.messages().locator(".row.message .text")
    await expect(rows.first).to_contain_text("x0000")
    await expect(alice.messages().locator(".history-status")).to_have_text(BEGINNING)
    assert "".join(await rows.all_text_contents()) == text, [len(t) for t in await rows.all_text_contents()]


# -- accounts and what the browser keeps -----------------------------------------------------------


async def test_a_password_not_to_be_remembered_is_kept_nowhere_in_the_browser(web_server, open_user) -> None:
    owner = await registered_account(web_server.runtime, "alice", "not-in-storage-9")
    owner.send("QUIT")
    await owner.closed()
    alice = await open_user()
    await alice.connect("alice", "#lobby", password="not-in-storage-9")
    await alice.switch_to("hubbub")
    await expect(alice.messages()).to_contain_text("You are now logged in as alice")
    kept = await alice.page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie,"
        " location.href])"
    )  # fmt: skip
    assert "not-in-storage-9" not in kept, kept
    await alice.page.reload()  # no password kept: the connect screen asks again, the nick filled in
    await expect(alice.page.locator("#connect")).to_be_visible()
    await expect(alice.page.locator("#connect-nick")).to_have_value("alice")
    await expect(alice.page.locator("#connect-password")).to_have_value("")


async def test_where_the_scripts_do_not_run_connect_never_puts_the_password_in_the_address(
    web_server, browser
) -> None:  # fmt: skip
    context = await browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        await page.goto(web_server.url)
        if await page.locator("#connect-submit").is_visible():  # nothing to submit is right too
            await page.fill("#connect-nick", "alice")
            await page.fill("#connect-password", "never-in-a-url-7")
            await page.click("#connect-submit")
            await page.wait_for_load_state()
            assert "never-in-a-url-7" not in page.url, page.url
    finally:
        await context.close()


async def test_a_wrong_password_is_said_where_the_user_is(web_server, open_user) -> None:
    owner = await registered_account(web_server.runtime, "alice", "right-words")
    owner.send("QUIT")
    await owner.closed()
    alice = await open_user()
    await alice.connect("alice", "#lobby", password="wrong-words")
    server = buffer_item(alice, "hubbub")
    # It is written down (in the server buffer)...
    await alice.page.wait_for_function(
        "() => window.hubbub.state.server.messages.some((r) => r.text.startsWith('Login failed'))"
    )  # fmt: skip
    # ...but is it where the user looks: the channel shown, or a badge on the server buffer?
    in_view = await alice.messages().locator(".row", has_text="Login failed").count()
    badge = await server.locator(".badge").text_content()
    assert in_view or badge, (in_view, badge)


# -- accessibility -----------------------------------------------------------------------------------


async def test_the_input_is_labelled_the_messages_are_a_log_and_every_button_has_a_name(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    await irc_user("carol", "#lobby")
    page = alice.page
    await expect(page.locator("#input")).to_have_accessible_name("Message #lobby")
    await expect(page.get_by_role("log", name="Messages")).to_have_count(1)
    await expect(page.get_by_role("textbox", name="Message #lobby")).to_be_focused()
    await alice.switch_to("hubbub")
    await expect(page.locator("#input")).to_have_accessible_name("Command (type /help)")
    await alice.switch_to("#lobby")
    snapshot = await page.locator("body").aria_snapshot()
    nameless = re.compile(r"^\s*- (button|textbox|searchbox|link|combobox)\s*(:|$)")
    unnamed = [line for line in snapshot.splitlines() if nameless.match(line)]
    assert unnamed == [], snapshot
    for name in ("Send", "Show or hide members", "Join a channel…", "Browse channels", "Help: commands and keys",
                 "Close #other", "#other", "alice, operator", "carol"):  # fmt: skip
        await expect(page.get_by_role("button", name=name, exact=True)).to_have_count(1)
    # The typing line is on screen, not read out: test_webclient_keyboard says why.
    await expect(page.locator("#typing")).not_to_have_attribute("aria-live", re.compile("."))
    # the connect screen's fields have labels too
    await page.evaluate("localStorage.clear()")
    await page.reload()
    for label in ("Nickname", "Account password (optional)", "Channels", "Remember my password on this device"):
        await expect(page.locator("#connect").get_by_label(label, exact=True)).to_have_count(1)


async def test_the_connection_dot_names_the_state_it_shows(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await expect(alice.page.get_by_role("img", name=re.compile(r"\bconnected\b", re.I))).to_have_count(1, timeout=2_000)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 1920, "height": 800}, PHONE])
async def test_the_sidebar_buttons_sit_inside_the_sidebar_and_take_the_click(open_user, viewport) -> None:
    """"Join a channel…", "Browse channels" and "?" fit the sidebar's width: with the
    system's font, the three on one line pushed "?" past the sidebar's edge, under the
    input box, where a click went to the box instead."""
    alice = await open_user(viewport=viewport)
    await alice.connect("alice", "#side")
    page = alice.page
    if viewport is PHONE:
        await page.click("#toggle-buffers")  # the drawer slides in: measured once it is in
        await page.wait_for_function("() => document.querySelector('.sidebar').getBoundingClientRect().x >= 0")
    sidebar = await page.locator(".sidebar").bounding_box()
    assert sidebar is not None
    for selector in ("#join-button", "#browse-button", "#help-button"):
        box = await page.locator(selector).bounding_box()
        assert box is not None, selector
        assert sidebar["x"] - 0.5 <= box["x"] and box["x"] + box["width"] <= sidebar["x"] + sidebar["width"] + 0.5, (
            selector, box, sidebar)  # fmt: skip
        hit = await page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y)?.closest('button')?.id ?? null",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert hit == selector[1:], (selector, hit)
    await page.click("#help-button")
    await expect(page.locator("#help-dialog")).to_be_visible()
