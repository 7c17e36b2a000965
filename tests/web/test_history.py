"""History (draft/chathistory), search (soju.im/search) and SASL in the browser.

Most run against a scripted IRCv3 peer (tests/web/ircv3_peer.py) that speaks them over
WebSocket, so that what the client sends can be checked line by line; the last tests
run the same scenarios against hubbub itself and its store.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.e2e_accounts.support import registered_account
from tests.helpers import LineClient
from tests.web.ircv3_peer import IRCv3Peer

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def peer() -> AsyncIterator[IRCv3Peer]:
    peer = IRCv3Peer(accounts={"alice": "sekrit"})
    peer.fill("#history", 300)
    peer.add("dana", "#history", "a needle in the haystack", peer.history[10].when)
    await peer.start()
    yield peer
    await peer.stop()


def sent(peer: IRCv3Peer, prefix: str) -> list[str]:
    return [line for line in peer.received if line.startswith(prefix)]


async def scroll_to_top(user, times: int = 1) -> None:
    for _ in range(times):
        await user.messages().evaluate("el => el.scrollTop = 0")
        await user.page.wait_for_timeout(80)


async def test_history_is_loaded_on_join_and_on_scroll_up(peer, open_page) -> None:
    alice = await open_page(peer.url)
    await alice.connect("alice", "#history")
    messages = alice.messages()
    await expect(messages.locator(".row", has_text="history message 299")).to_be_in_viewport()
    assert sent(peer, "CHATHISTORY LATEST") == ["CHATHISTORY LATEST #history * 50"]
    await expect(messages).not_to_contain_text("history message 200")

    # Scrolling up asks for what came before the oldest message shown, 50 at a time.
    for _ in range(12):
        await scroll_to_top(alice)
        if await messages.locator(".row", has_text="history message 000").count():
            break
    await expect(messages.locator(".row", has_text="history message 000")).to_be_visible()
    await expect(messages.locator(".history-status")).to_have_text("Beginning of the conversation")
    befores = sent(peer, "CHATHISTORY BEFORE #history ")
    assert befores[0] == "CHATHISTORY BEFORE #history timestamp=2024-05-01T04:10:00.000Z 50"
    assert len(befores) >= 5
    # the day of the history is marked, and each message came once
    await expect(messages.locator(".day").first).to_contain_text("2024")
    await expect(messages.locator(".row", has_text="history message 100")).to_have_count(1)


async def test_missed_messages_are_fetched_after_a_reconnection(peer, open_page) -> None:
    alice = await open_page(peer.url)
    await alice.connect("alice", "#history")
    await expect(alice.messages()).to_contain_text("history message 299")
    await alice.say("before the restart")
    await expect(alice.messages()).to_contain_text("before the restart")
    await peer.drop_all()
    peer.add("erik", "#history", "said while you were away")
    peer.add("dana", "#history", "and this too")
    await expect(alice.messages()).to_contain_text("and this too", timeout=20_000)
    afters = sent(peer, "CHATHISTORY AFTER #history ")
    assert len(afters) == 1 and re.fullmatch(r"CHATHISTORY AFTER #history timestamp=\S+Z 50", afters[0])
    texts = await alice.messages().locator(".row.message .text").all_text_contents()
    tail = texts[-3:]
    assert tail == ["before the restart", "said while you were away", "and this too"], tail
    assert texts.count("before the restart") == 1


async def test_search_box_finds_messages(peer, open_page) -> None:
    alice = await open_page(peer.url)
    await alice.connect("alice", "#history")
    form = alice.page.locator("#search-form")
    await expect(form).to_be_visible()
    await alice.page.fill("#search-input", "needle")
    await alice.page.press("#search-input", "Enter")
    dialog = alice.page.locator("#search-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#search-summary")).to_have_text("1 result for “needle”")
    await expect(dialog.locator("#search-results li")).to_contain_text("a needle in the haystack")
    assert sent(peer, "SEARCH ") == ["SEARCH text=needle;limit=100;in=#history"]
    await dialog.locator("#search-results button").click()
    await expect(dialog).to_be_hidden()
    await expect(alice.page.locator("#buffer-title")).to_have_text("#history")


async def test_sasl_login_with_the_account_password(peer, open_page) -> None:
    alice = await open_page(peer.url)
    await alice.connect("alice", "#history", password="sekrit")
    payload = base64.b64encode(b"alice\0alice\0sekrit").decode()
    assert sent(peer, "AUTHENTICATE") == ["AUTHENTICATE PLAIN", f"AUTHENTICATE {payload}"]
    await alice.switch_to("peernet")
    await expect(alice.messages()).to_contain_text("You are now logged in as alice")


async def test_a_wrong_password_is_reported(peer, open_page) -> None:
    alice = await open_page(peer.url)
    await alice.connect("alice", "#history", password="wrong")
    await alice.switch_to("peernet")
    await expect(alice.messages().locator(".row.error")).to_contain_text("Login failed")


# -- against hubbub and its store ---------------------------------------------------


async def offered_caps(runtime) -> set[str]:
    client = await LineClient.connect(runtime)
    try:
        client.send("CAP LS 302")
        offered: set[str] = set()
        while True:  # a list too long for one line comes in several, all but the last marked "*"
            reply = await client.expect("CAP")
            offered |= {item.split("=", 1)[0] for item in reply.params[-1].split()}
            if reply.params[2] != "*":
                return offered
    finally:
        await client.close()


async def test_history_scroll_back_on_hubbub(open_user, irc_user, web_server) -> None:
    assert "draft/chathistory" in await offered_caps(web_server.runtime)
    carol = await irc_user("carol", "#kept")
    for i in range(250):
        carol.send(f"PRIVMSG #kept :kept message {i:03d}")
    carol.send("PING done")
    await carol.expect("PONG")
    alice = await open_user()
    await alice.connect("alice", "#kept")
    await expect(alice.messages()).to_contain_text("kept message 249")
    for _ in range(12):
        await scroll_to_top(alice)
        if await alice.messages().locator(".row", has_text="kept message 000").count():
            break
    await expect(alice.messages().locator(".row", has_text="kept message 000")).to_be_visible()


async def test_search_on_hubbub(open_user, irc_user, web_server) -> None:
    assert "soju.im/search" in await offered_caps(web_server.runtime)
    carol = await irc_user("carol", "#kept")
    carol.send("PRIVMSG #kept :the word is xylophone")
    alice = await open_user()
    await alice.connect("alice", "#kept")
    await alice.page.fill("#search-input", "xylophone")
    await alice.page.press("#search-input", "Enter")
    await expect(alice.page.locator("#search-results")).to_contain_text("the word is xylophone")


async def test_a_search_that_cannot_be_made_says_why_in_words(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#kept")
    alice = await open_user()
    await alice.connect("alice", "#kept")
    page = alice.page
    for where, reason in (("hubbub", "Search looks through one conversation: open a channel or a private "
                                      "conversation, and search there."),
                          ("carol", "No history is kept of this conversation (the server keeps private messages "
                                    "between two people logged in to accounts), so it cannot be searched.")):
        if where == "carol":
            carol.send("PRIVMSG alice :hello")
        await alice.switch_to(where)
        if where == "hubbub":  # no box in the server's buffer: /search typed there
            await expect(page.locator("#search-form")).to_be_hidden()
            await alice.say("/search hello")
        else:
            await expect(page.locator("#search-form")).to_be_visible()
            await page.fill("#search-input", "hello")
            await page.press("#search-input", "Enter")
        await expect(page.locator("#search-summary")).to_have_text(reason)
        await page.keyboard.press("Escape")


async def test_sasl_login_on_hubbub(open_user, irc_user, web_server) -> None:
    owner = await registered_account(web_server.runtime, "alice", "sekrit-words")
    owner.send("QUIT")
    await owner.closed()
    alice = await open_user()
    await alice.connect("alice", "#kept", password="sekrit-words")
    bob = await irc_user("bob", "#kept")
    bob.send("WHOIS alice")
    assert (await bob.expect("330")).params[1:3] == ["alice", "alice"]  # logged in as alice
