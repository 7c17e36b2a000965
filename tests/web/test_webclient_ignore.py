"""/ignore, /unignore and /silence in the web client: Debian's Chromium against hubbub,
with mallory and carol raw IRC users.

What an ignored person says in a channel is hidden by the page; their private messages
are stopped at the server (SILENCE), so that the lines never reach the browser at all
(its WebSocket frames are watched), and that holds after a reload, whose new connection
is given the list again. /unignore brings them back. /silence shows the server's own
list and its errors where the person is.
"""

from __future__ import annotations

import asyncio
import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import Page, expect  # noqa: E402

from tests.web.wsclient import start_web_server  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Frames:
    """The IRC lines a page's WebSockets received and sent, every connection of it."""

    def __init__(self, page: Page) -> None:
        self.received: list[str] = []
        self.sent: list[str] = []
        page.on("websocket", self._watch)

    def _watch(self, ws) -> None:
        ws.on("framereceived", lambda data: self.received.append(_text(data)))
        ws.on("framesent", lambda data: self.sent.append(_text(data)))

    async def until(self, lines: list[str], pattern: str, start: int = 0) -> str:
        """The first of `lines` (`received` or `sent`) from `start` on matching `pattern`,
        once it has come."""
        for _ in range(400):
            for line in lines[start:]:
                if re.search(pattern, line):
                    return line
            await asyncio.sleep(0.025)
        raise AssertionError(f"no frame matching {pattern!r}; last: {lines[-10:]}")


def _text(data: str | bytes) -> str:
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


def rows(alice):
    return alice.messages().locator(".row")


async def test_an_ignored_person_is_hidden_here_and_stopped_at_the_server_across_a_reload(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#lobby")
    mallory = await irc_user("mallory", "#lobby")
    alice = await open_user()
    frames = Frames(alice.page)
    await alice.connect("alice", "#lobby")
    await alice.say("/ignore mallory")
    await expect(rows(alice).last).to_have_text(re.compile(
        r"Ignoring mallory: their messages are hidden, and their private messages, notices and invites are "
        r"stopped at the server\. /unignore mallory to see them again\."))
    await frames.until(frames.sent, r"^SILENCE \+mallory$")
    await frames.until(frames.received, r" SILENCE \+mallory!\*@\*$")  # in force from here on

    mallory.send("PRIVMSG alice :psst, private spam")
    mallory.send("PRIVMSG #lobby :channel spam")
    await frames.until(frames.received, "channel spam")  # the channel's line reached the page...
    assert not [f for f in frames.received if "private spam" in f]  # ...the private one, sent first, did not
    carol.send("PRIVMSG #lobby :carol is still heard")
    await expect(alice.messages()).to_contain_text("carol is still heard")
    await expect(alice.messages()).not_to_contain_text("channel spam")
    await expect(alice.messages()).not_to_contain_text("Silenced at the server")  # /ignore said it its way
    await expect(alice.page.locator("#buffer-list")).not_to_contain_text("mallory")

    # a reload is a new connection: the page gives the server the list again
    sent, received = len(frames.sent), len(frames.received)
    await alice.page.reload()
    await frames.until(frames.sent, r"^SILENCE \+mallory$", sent)
    await frames.until(frames.received, r" SILENCE \+mallory!\*@\*$", received)
    mallory.send("PRIVMSG alice :private spam after the reload")
    mallory.send("PRIVMSG #lobby :channel spam after the reload")
    await frames.until(frames.received, "channel spam after the reload")
    assert not [f for f in frames.received if "private spam after the reload" in f]
    await expect(alice.messages()).to_contain_text("carol is still heard")  # history is back...
    await expect(alice.messages()).not_to_contain_text("spam")  # ...without mallory's lines

    await alice.say("/unignore mallory")
    await expect(rows(alice).last).to_have_text(re.compile(r"No longer ignoring mallory\."))
    await frames.until(frames.sent, r"^SILENCE -mallory$")
    await frames.until(frames.received, r" SILENCE -mallory!\*@\*$")
    mallory.send("PRIVMSG #lobby :can you hear me now")
    mallory.send("PRIVMSG alice :and privately?")
    await expect(alice.messages()).to_contain_text("can you hear me now")
    await expect(alice.page.locator("#buffer-list")).to_contain_text("mallory")


async def test_ignore_alone_lists_and_silence_shows_the_servers_list_and_its_errors(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/ignore")
    await expect(rows(alice).last).to_have_text(re.compile(r"Ignoring: nobody\. /unignore to stop\."))
    await alice.say("/ignore *!*@spam.example")
    await alice.say("/ignore")
    await expect(rows(alice).last).to_have_text(re.compile(r"Ignoring: \*!\*@spam\.example\. /unignore to stop\."))
    await alice.say("/silence +troll")
    await expect(rows(alice).last).to_have_text(re.compile(
        r"Silenced at the server: troll!\*@\* \(their private messages, notices and invites do not reach you\)"))
    await alice.say("/silence")
    await expect(rows(alice).last).to_have_text(re.compile(
        r"Silenced at the server \(2 of 32\): \*!\*@spam\.example, troll!\*@\*\. /silence -mask takes one off\."))
    await alice.say("/silence -troll")
    await expect(rows(alice).last).to_have_text(re.compile(r"No longer silenced at the server: troll!\*@\*"))

    errors = alice.messages().locator(".row.error")
    await alice.say("/silence +m:troll")
    await expect(errors.last).to_contain_text("SILENCE: a SILENCE mask is nick!user@host or a:account, not m:")
    await alice.say("/silence -nobody")
    await expect(errors.last).to_contain_text("SILENCE: That mask is not on your silence list")
    await alice.say("/silence +")
    await expect(errors.last).to_contain_text("SILENCE: Not enough parameters")
    await expect(errors).to_have_count(3)

    # the commands are listed, and completed, as the others are
    await alice.page.fill("#input", "/ign")
    await alice.page.press("#input", "Tab")
    await expect(alice.page.locator("#input")).to_have_value("/ignore ")
    await alice.page.fill("#input", "")
    await alice.page.click("#help-button")
    help_list = alice.page.locator("#help-commands")
    for usage in ("/ignore [nick|mask]", "/unignore nick|mask", "/silence [+mask|-mask]"):
        await expect(help_list.get_by_text(usage, exact=True)).to_be_visible()


async def test_a_full_server_list_is_said_and_a_reconnection_gives_it_no_more_than_it_takes(open_page) -> None:
    runtime = await start_web_server("limits.silence=1")
    try:
        alice = await open_page(runtime.web_url())
        frames = Frames(alice.page)
        await alice.connect("alice", "#lobby")
        await alice.say("/ignore first")
        await alice.say("/ignore second")
        errors = alice.messages().locator(".row.error")
        await expect(errors.last).to_have_text(re.compile(
            r"Your server-side ignore list is full \(1 mask\): second!\*@\* is not silenced at the server\. "
            r"/silence lists it, /silence -mask makes room\."))
        await alice.say("/unignore second")  # the server never had it: nothing more to say
        await alice.say("/silence")
        await expect(rows(alice).last).to_contain_text("Silenced at the server (1 of 1): first!*@*.")
        await expect(errors).to_have_count(1)

        await alice.say("/ignore third")
        await expect(errors).to_have_count(2)
        before = len(frames.sent)
        await alice.page.reload()
        await frames.until(frames.sent, r"^SILENCE \+first$", before)
        await alice.say("/silence")
        await expect(rows(alice).last).to_contain_text("Silenced at the server (1 of 1): first!*@*.")
        assert not [f for f in frames.sent[before:] if f.startswith("SILENCE +third")]
        await expect(errors).to_have_count(0)  # a fresh page: no error from the reconnection
        await alice.page.close()
    finally:
        await runtime.stop()
