"""What was missed while the page was closed, in Debian's Chromium against hubbub.

Coming back (a reload, the tab closed and opened again), the messages said after the
point the person had read to count as unread in the conversation list and the page
title, a mention among them as a mention (and highlighted), and a "New messages" line
stands above the first of them until the conversation is left for another. The point
read to is what the page remembered (the newest message seen in each conversation), or
the account's read marker (draft/read-marker) where it is later: on a browser that
remembers nothing, or read further on another device (a private conversation's too,
which the server tells only when asked).
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.e2e_accounts.support import registered_account, sasl_plain  # noqa: E402
from tests.web.fixtures import away_while, caught_up, cut_off_while, reads_lobby  # noqa: E402
from tests.web.test_webclient_qa_reload import buffer_item  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "sekrit-words"


async def past(timestamp: str) -> None:
    """Until the clock has left the millisecond of `timestamp` (a server-time tag)."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    while time.time() < moment + 0.001:
        await asyncio.sleep(0.001)


async def accounts_in_lobby(web_server, open_user):  # -> tuple[BrowserUser, LineClient]
    """bob (a raw client) and alice (a page) logged in to accounts of their own, in #lobby;
    alice's page remembers her password, so that a reload logs in again by itself."""
    bob = await registered_account(web_server.runtime, "bob", PASSWORD, "#lobby")
    account = await registered_account(web_server.runtime, "alice", PASSWORD)
    await account.close()
    alice = await open_user()
    await alice.page.check("#connect-remember")
    await alice.connect("alice", "#lobby", password=PASSWORD)
    return alice, bob


async def first_row_after_the_line(page) -> str:
    return await page.evaluate(
        "() => { const l = document.querySelector('#messages .new-line');"
        " return l && l.nextElementSibling ? l.nextElementSibling.querySelector('.text').textContent : null; }"
    )  # fmt: skip


async def test_coming_back_shows_what_was_missed_since_the_last_visit(open_user, irc_user) -> None:
    alice, carol = await reads_lobby(open_user, irc_user, "#lobby #other")
    page = alice.page
    await alice.switch_to("#other")
    await expect(page.locator("#messages .new-line")).to_have_count(0)  # nothing missed in a live session
    await away_while(alice, carol, "PRIVMSG #lobby :missed one", "PRIVMSG #lobby :alice: missed, and for you")

    await expect(page.locator("#buffer-title")).to_have_text("#other")
    await expect(buffer_item(alice, "#lobby").locator(".badge")).to_have_text("2")
    await expect(buffer_item(alice, "#lobby").locator(".badge")).to_have_class(re.compile(r"\bmention\b"))
    await expect(page).to_have_title("(1) #other · hubbub")

    await alice.switch_to("#lobby")
    line = page.locator("#messages .new-line")
    await expect(line).to_have_text("New messages")
    assert (await first_row_after_the_line(page) or "").endswith("missed one")
    await expect(alice.messages().locator(".row.mention")).to_contain_text("missed, and for you")
    await expect(page).to_have_title("#lobby · hubbub")

    await alice.switch_to("#other")  # left, and back: read past
    await alice.switch_to("#lobby")
    await expect(line).to_have_count(0)


@pytest.mark.parametrize("leaving", ["reload", "reconnection"])
async def test_a_return_that_missed_nothing_puts_no_line_above_what_comes_live(open_user, irc_user, leaving) -> None:
    # Watching the conversation that missed nothing: what is said next is seen as it
    # comes, as before the return. The point read to stays for one that missed something.
    alice, carol = await reads_lobby(open_user, irc_user, "#lobby #other")
    page = alice.page
    await alice.switch_to("#other")
    carol.send("PRIVMSG #other :read in the other")
    await expect(alice.messages()).to_contain_text("read in the other")
    await alice.switch_to("#lobby")
    if leaving == "reload":
        await away_while(alice, carol, "PRIVMSG #other :missed in the other")
    else:
        await cut_off_while(alice, carol, "PRIVMSG #other :missed in the other")
    await page.wait_for_function(caught_up, arg=["#lobby", "#other"])
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    carol.send("PRIVMSG #lobby :said while alice looks")
    await expect(alice.messages()).to_contain_text("said while alice looks")
    await expect(page.locator("#messages .new-line")).to_have_count(0)
    await expect(buffer_item(alice, "#lobby").locator(".badge")).to_have_text("")
    await alice.switch_to("#other")  # the other conversation missed a line: its line stands
    await expect(page.locator("#messages .new-line")).to_have_text("New messages")
    assert (await first_row_after_the_line(page) or "").endswith("missed in the other")


async def test_the_accounts_read_marker_says_what_is_new_in_a_browser_that_remembers_nothing(
    web_server, open_user, irc_user
) -> None:  # fmt: skip
    device = await registered_account(web_server.runtime, "alice", PASSWORD)  # a laptop's IRC client
    device.send("CAP REQ :draft/read-marker server-time message-tags")
    await device.expect("CAP")
    await device.join("#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :read on the laptop")
    read = await device.expect("PRIVMSG", "#lobby", "read on the laptop")
    device.send(f"MARKREAD #lobby timestamp={read.tags['time']}")
    await device.expect("MARKREAD", "#lobby")
    # A marker is a millisecond (server-time's precision): a line said in the same one
    # as the line read is read too. Said after it, as a person's next line would be.
    await past(read.tags["time"])
    carol.send("PRIVMSG #lobby :said after that")
    await device.expect("PRIVMSG", "#lobby", "said after that")

    tab = await open_user()  # a new browser: nothing remembered there
    await tab.connect("alice", "#other #lobby", password=PASSWORD)
    await expect(buffer_item(tab, "#lobby").locator(".badge")).to_have_text("1")
    await tab.switch_to("#lobby")
    await expect(tab.page.locator("#messages .new-line")).to_have_count(1)
    assert (await first_row_after_the_line(tab.page) or "").endswith("said after that")
    await tab.say("thanks")  # spoken there: read past
    await expect(tab.page.locator("#messages .new-line")).to_have_count(0)


async def test_a_private_conversations_read_marker_says_where_its_new_messages_begin(web_server, open_user) -> None:
    # The page asks for it (MARKREAD bob) before the conversation's history: the server
    # tells a channel's on joining, a private conversation's only when asked.
    runtime = web_server.runtime
    alice, bob = await accounts_in_lobby(web_server, open_user)  # kept between two accounts
    page = alice.page
    bob.send("PRIVMSG alice :read in the browser")
    await alice.switch_to("bob")
    await expect(alice.messages()).to_contain_text("read in the browser")  # looked at: seen
    await alice.switch_to("#lobby")

    await page.goto("about:blank")  # the tab closed; on the laptop, alice reads one more
    await bob.expect("QUIT")
    laptop, _ = await sasl_plain(runtime, "alice", "alice", PASSWORD)
    laptop.send("CAP REQ :draft/read-marker server-time message-tags")
    await laptop.expect("CAP")
    bob.send("PRIVMSG alice :read on the laptop")
    read = await laptop.expect("PRIVMSG", "alice", "read on the laptop")
    laptop.send(f"MARKREAD bob timestamp={read.tags['time']}")
    await laptop.expect("MARKREAD", "bob")
    await past(read.tags["time"])  # a marker is a millisecond: said after it
    bob.send("PRIVMSG alice :said after that")
    await laptop.expect("PRIVMSG", "alice", "said after that")
    laptop.send("QUIT")
    await laptop.expect("ERROR")
    await page.goto(web_server.url)  # and opened again: the session resumes

    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await expect(buffer_item(alice, "bob").locator(".badge")).to_have_text("1")  # not 2: the laptop read one
    await alice.switch_to("bob")
    await expect(page.locator("#messages .new-line")).to_have_text("New messages")
    assert (await first_row_after_the_line(page) or "").endswith("said after that")
    await bob.close()


async def test_a_private_conversation_held_on_another_device_opens_on_return(web_server, open_user) -> None:
    # While the tab is closed, alice's phone (another connection of her account) talks
    # with bob: back, the page opens that conversation (CHATHISTORY TARGETS), unread.
    runtime = web_server.runtime
    alice, bob = await accounts_in_lobby(web_server, open_user)
    page = alice.page
    await expect(alice.messages()).to_contain_text("bob")  # in #lobby together
    await page.goto("about:blank")
    await bob.expect("QUIT")
    phone, result = await sasl_plain(runtime, "alicephone", "alice", PASSWORD)
    assert result == "903"
    bob.send("PRIVMSG alicephone :are you coming tonight?")
    await phone.expect("PRIVMSG", "alicephone", "are you coming tonight?")
    await page.goto(web_server.url)  # the session resumes

    await expect(buffer_item(alice, "bob").locator(".badge")).to_have_text("1")
    await alice.switch_to("bob")
    await expect(alice.messages()).to_contain_text("are you coming tonight?")
    await phone.close()
    await bob.close()


async def test_a_message_left_for_an_offline_account_opens_on_return(web_server, open_user) -> None:
    # bob writes to alice while her tab is closed and nobody is connected as her: the
    # server keeps it for her account, and her page opens the conversation when back.
    alice, bob = await accounts_in_lobby(web_server, open_user)
    page = alice.page
    await expect(alice.messages()).to_contain_text("bob")
    await page.goto("about:blank")
    await bob.expect("QUIT")
    bob.send("PRIVMSG alice :left you a note")
    assert (await bob.expect("301")).params[1] == "alice"  # told it is kept
    await page.goto(web_server.url)

    await expect(buffer_item(alice, "bob").locator(".badge")).to_have_text("1")
    await alice.switch_to("bob")
    await expect(alice.messages()).to_contain_text("left you a note")
    await bob.close()


async def test_writing_to_an_offline_account_says_it_is_kept(web_server, open_user) -> None:
    runtime = web_server.runtime
    await (await registered_account(runtime, "dave", PASSWORD)).close()
    await (await registered_account(runtime, "carol", PASSWORD)).close()
    carol = await open_user()
    await carol.connect("carol", "#lobby", password=PASSWORD)
    await carol.say("/msg dave see you at noon")
    await carol.switch_to("dave")
    await expect(carol.messages()).to_contain_text("see you at noon")
    await expect(carol.messages()).to_contain_text("dave is away: Offline")
    await expect(carol.messages()).not_to_contain_text("No such nick")


async def test_a_message_left_while_offline_is_unread_in_a_browser_that_remembers_nothing(
    web_server, open_user
) -> None:  # fmt: skip
    runtime = web_server.runtime
    await (await registered_account(runtime, "alice", PASSWORD)).close()
    carol = await registered_account(runtime, "carol", PASSWORD)
    carol.send("PRIVMSG alice :lunch tomorrow?")
    await carol.expect("301")
    tab = await open_user()  # a new browser: nothing remembered there, no read marker either
    await tab.connect("alice", "#lobby", password=PASSWORD)
    await expect(buffer_item(tab, "carol").locator(".badge")).to_have_text("1")
    await tab.switch_to("carol")
    await expect(tab.messages()).to_contain_text("lunch tomorrow?")
    await carol.close()
