"""Coming back after many messages, and with many conversations, in Debian's Chromium
against hubbub.

A return fetches each conversation's history from the newest message back to the point
read to (not only the newest page): the "New messages" line stands above the first
message missed and the count says how many, however many pages that takes, up to a cap
past which the line says that the first ones are further up. And the conversations'
requests are paced: the one looked at first, the others two at a time, never one per
conversation at once. What comes back of the history takes its place among the lines
that came live meanwhile in the server's order, even in one millisecond.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Awaitable, Callable

import pytest

pytest.importorskip("playwright")

from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from playwright.async_api import WebSocketRoute, expect  # noqa: E402

from hubbub.app import Runtime  # noqa: E402
from hubbub.irc.message import parse  # noqa: E402
from tests.helpers import LineClient, connected  # noqa: E402
from tests.web.fixtures import BrowserUser, away_while, caught_up, cut_off_while, reads_lobby  # noqa: E402
from tests.web.test_webclient_qa_reload import buffer_item  # noqa: E402
from tests.web.test_webclient_unread import first_row_after_the_line  # noqa: E402
from tests.web.wsclient import start_web_server  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")


class HistoryRequests:
    """The CHATHISTORY requests a page sends, in order, and the most of them waiting for
    their answer (a chathistory batch, or a FAIL) at any one time, read off its WebSocket
    frames."""

    def __init__(self, page) -> None:
        self.sent: list[str] = []
        self.waiting = 0
        self.most_waiting = 0
        self.batches: set[str] = set()
        page.on("websocket", lambda ws: (ws.on("framesent", self.on_sent), ws.on("framereceived", self.on_received)))

    @staticmethod
    def text(payload: str | bytes) -> str:
        return payload if isinstance(payload, str) else payload.decode("utf-8", "replace")

    def on_sent(self, payload: str | bytes) -> None:
        line = self.text(payload)
        if line.startswith("CHATHISTORY "):
            self.sent.append(line)
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)

    def on_received(self, payload: str | bytes) -> None:
        msg = parse(self.text(payload))
        params = msg.params
        if msg.command == "BATCH" and params[0].startswith("+") and params[1:2] == ["chathistory"]:
            self.batches.add(params[0][1:])
        elif msg.command == "BATCH" and params[0].startswith("-") and params[0][1:] in self.batches:
            self.batches.discard(params[0][1:])
            self.waiting -= 1
        elif msg.command == "FAIL" and params[:1] == ["CHATHISTORY"]:
            self.waiting -= 1

    def targets(self) -> list[str]:
        return [line.split(" ")[2] for line in self.sent]



async def test_the_line_stands_above_the_first_of_150_messages_missed(open_user, irc_user) -> None:
    alice, carol = await reads_lobby(open_user, irc_user, "#lobby #other")
    page = alice.page
    await alice.switch_to("#other")
    await away_while(alice, carol, *[f"PRIVMSG #lobby :missed {i} of 150" for i in range(1, 151)])
    await expect(page.locator("#buffer-title")).to_have_text("#other")
    await expect(buffer_item(alice, "#lobby").locator(".badge")).to_have_text("150")
    await alice.switch_to("#lobby")
    line = page.locator("#messages .new-line")
    await expect(line).to_be_in_viewport()  # more than a screen: opened at the line
    await page.keyboard.press("Shift+PageUp")  # and Shift+Page Up keeps to it
    await expect(line).to_be_in_viewport()
    await expect(line).to_have_text("New messages")
    assert (await first_row_after_the_line(page) or "").endswith("missed 1 of 150")
    # what was read is there above it, as context; everything once, in order
    texts = await said_in(page, "#lobby")
    assert texts[-151:] == ["read while here"] + [f"missed {i} of 150" for i in range(1, 151)], texts[-151:]


async def said_in(page, name: str) -> list[str]:
    """The messages a conversation holds (loaded, drawn or not), oldest first."""
    return await page.evaluate(
        "(name) => window.hubbub.state.buffer(name).messages.filter((r) => r.kind === 'message').map((r) => r.text)",
        name,
    )


async def test_more_missed_than_a_return_fetches_is_said_so(open_page) -> None:
    # Pages of 10 (CHATHISTORY=10): a return fetches 10 of them at most, 100 messages.
    runtime = await start_web_server("history.chathistory_max=10")
    try:
        alice, carol = await reads_lobby(*its_own(runtime, open_page), "#lobby #other")
        page = alice.page
        await alice.switch_to("#other")
        await away_while(alice, carol, *[f"PRIVMSG #lobby :missed {i} of 150" for i in range(1, 151)])
        await page.wait_for_function(caught_up, arg=["#lobby"])
        # counted as far as fetched, and said to be more
        await expect(buffer_item(alice, "#lobby").locator(".badge")).to_have_text(re.compile(r"^\d+\+$"))
        # what is loaded is the newest, unbroken: scroll-back goes on from its oldest
        texts = await said_in(page, "#lobby")
        first = int(texts[0].split()[1])
        assert first > 1 and texts == [f"missed {i} of 150" for i in range(first, 151)], texts
        await alice.switch_to("#lobby")
        line = page.locator("#messages .new-line")
        await expect(line).to_have_text(re.compile(r"^New messages: more than \d+, the first ones further up$"))
        # above the oldest the return fetched, and in view: the view opens at the line, at
        # the top, so scroll-back loads older ones at once, above it; the line stays where
        # it is, on screen, and its count with it (it climbed a page at each load)
        oldest_fetched = f"missed {first} of 150"
        said = await line.text_content()
        loaded = "(n) => window.hubbub.state.buffer('#lobby').messages.filter((r) => r.kind === 'message').length > n"
        await page.wait_for_function(loaded, arg=len(texts))  # a page above it came
        in_view = """() => {
          const line = document.querySelector('#messages .new-line');
          const box = document.querySelector('#messages').getBoundingClientRect();
          const at = line && line.getBoundingClientRect();
          return !!at && at.top >= box.top && at.bottom <= box.bottom;
        }"""
        for step in range(2):
            try:
                await page.wait_for_function(in_view, timeout=8000)
            except PlaywrightTimeoutError:
                raise AssertionError((step, await page.evaluate("""() => {
                  const line = document.querySelector('#messages .new-line');
                  const box = document.querySelector('#messages').getBoundingClientRect();
                  const c = document.querySelector('#messages');
                  return [line && line.getBoundingClientRect().top, box.top, box.bottom, c.scrollTop, c.scrollHeight,
                          line && line.nextElementSibling && line.nextElementSibling.textContent];
                }"""))) from None
            assert (await first_row_after_the_line(page) or "").endswith(oldest_fetched), step
            await expect(line).to_have_text(said)
            await page.keyboard.press("Shift+PageUp")  # goes to it, however far up it is
        await page.close()  # before the server stops: no refused reconnection logged
        await carol.close()
    finally:
        await runtime.stop()


async def test_a_return_with_many_conversations_fetches_them_a_few_at_a_time(open_user, irc_user) -> None:
    names = [f"#c{i:02d}" for i in range(16)]
    carol = await irc_user("carol", *names)
    alice = await open_user()
    page = alice.page
    await alice.connect("alice", " ".join(names))
    for name in ("#c03", "#c14", "#c09"):  # looked at (seen: what comes later is new), #c09 last
        await alice.switch_to(name)
    requests = HistoryRequests(page)
    await away_while(alice, carol, "PRIVMSG #c03 :said in one", "PRIVMSG #c14 :alice: and in another")
    await expect(page.locator("#buffer-title")).to_have_text("#c09")
    await expect(buffer_item(alice, "#c03").locator(".badge")).to_have_text("1")
    await expect(buffer_item(alice, "#c14").locator(".badge")).to_have_text("1")
    await page.wait_for_function(caught_up, arg=names)
    targets = requests.targets()
    assert sorted(set(targets)) == names, targets  # every one of them came back with its history
    assert requests.most_waiting <= 3, (requests.most_waiting, requests.sent)  # two others at a time, besides it
    assert targets[0] == "#c09", targets  # the one looked at first


async def test_a_reconnection_that_missed_more_than_it_fetches_shows_the_newest_unbroken(open_page) -> None:
    runtime = await start_web_server("history.chathistory_max=10")  # at most 100 fetched on a return
    try:
        alice, carol = await reads_lobby(*its_own(runtime, open_page), "#lobby #other")
        page = alice.page
        await alice.switch_to("#other")
        requests = HistoryRequests(page)  # of the next connection
        await cut_off_while(alice, carol, *[f"PRIVMSG #lobby :missed {i} of 150" for i in range(1, 151)])
        await page.wait_for_function(caught_up, arg=["#lobby", "#other"])

        texts = await said_in(page, "#lobby")
        assert texts[-1] == "missed 150 of 150", (texts[-3:], requests.sent)  # the newest are there
        first = int(texts[0].split()[1])  # what was loaded before no longer joins them: dropped
        assert first > 1 and texts == [f"missed {i} of 150" for i in range(first, 151)], texts
        await expect(buffer_item(alice, "#lobby").locator(".badge")).to_have_text(re.compile(r"^\d+\+$"))
        await alice.switch_to("#lobby")
        await expect(page.locator("#messages .new-line")).to_have_text(
            re.compile(r"^New messages: more than \d+, the first ones further up$"))  # fmt: skip
        await page.close()
        await carol.close()
    finally:
        await runtime.stop()


Openers = tuple[Callable[[], Awaitable[BrowserUser]], Callable[..., Awaitable[LineClient]]]


def its_own(runtime: Runtime, open_page) -> Openers:
    """`reads_lobby`'s openers (a page, a raw IRC user) for a server of the test's own."""
    return (lambda: open_page(runtime.web_url())), functools.partial(connected, runtime)


async def server_on_clock(now: list[float]) -> Runtime:
    """A server whose clock is the test's, `now[0]`: standing still, every line is of one
    millisecond (each a microsecond after the one before, apply.in_time_order), as the
    lines of a burst. Flood control is off: its bucket would not refill."""
    runtime = await start_web_server("limits.flood_control=false")
    runtime.clock = lambda: now[0]
    return runtime


class HeldUplink:
    """The page's IRC connections, through Playwright (installed before the page loads):
    once `armed`, from the page's next CHATHISTORY request on, what that connection
    sends waits (in order) until `release()`, as on a slow uplink."""

    def __init__(self) -> None:
        self.armed = False
        self.held: list[str | bytes] = []
        self.holder: WebSocketRoute | None = None  # the connection to the server held
        self.holding = asyncio.Event()

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        ws.on_message(lambda message: self.from_page(server, message))

    def from_page(self, server: WebSocketRoute, message: str | bytes) -> None:
        line = message if isinstance(message, str) else message.decode()
        if self.armed and line.startswith("CHATHISTORY "):
            self.armed = False
            self.holder = server
            self.holding.set()
        if server is self.holder:
            self.held.append(message)
        else:
            server.send(message)

    def release(self) -> None:
        holder, self.holder = self.holder, None
        for message in self.held:
            assert holder is not None
            holder.send(message)
        self.held = []


async def test_history_of_the_millisecond_of_live_lines_keeps_the_servers_order(open_page) -> None:
    now = [float(int(time.time()))]
    runtime = await server_on_clock(now)
    uplink = HeldUplink()

    async def open_routed() -> BrowserUser:
        user = await open_page(runtime.web_url())
        await user.page.route_web_socket(re.compile(r"/webirc$"), uplink.route)
        await user.page.reload()  # routes the page's connections from now on
        return user

    try:
        alice, carol = await reads_lobby(open_routed, functools.partial(connected, runtime))
        page = alice.page
        now[0] += 0.001  # a millisecond later: what follows is of one millisecond
        uplink.armed = True
        await cut_off_while(alice, carol, *[f"PRIVMSG #lobby :missed {i}" for i in (1, 2, 3)])
        # Back in #lobby, what it missed asked for but not yet at the server: two lines
        # come live first, and the history, which has them too, after them.
        await asyncio.wait_for(uplink.holding.wait(), 10)
        carol.send("PRIVMSG #lobby :live 1")
        carol.send("PRIVMSG #lobby :live 2")
        await expect(alice.messages()).to_contain_text("live 2")
        uplink.release()
        await page.wait_for_function(caught_up, arg=["#lobby"])
        said_there = ["read while here", "missed 1", "missed 2", "missed 3", "live 1", "live 2"]
        assert await said_in(page, "#lobby") == said_there
        await expect(alice.messages().locator(".row.message .text")).to_have_text(said_there)
        times = """() => new Set(window.hubbub.state.buffer('#lobby').messages
          .filter((r) => /^(missed|live) /.test(r.text)).map((r) => r.time)).size"""
        assert await page.evaluate(times) == 1  # all of one millisecond indeed
        await page.close()  # before the server stops: no refused reconnection logged
        await carol.close()
    finally:
        await runtime.stop()


async def test_a_reconnection_fetches_what_was_said_in_the_millisecond_of_the_last_line_seen(open_page) -> None:
    runtime = await server_on_clock([float(int(time.time()))])
    try:
        alice, carol = await reads_lobby(*its_own(runtime, open_page))
        page = alice.page
        await cut_off_while(alice, carol, *[f"PRIVMSG #lobby :missed {i}" for i in (1, 2, 3)])  # of its millisecond
        await page.wait_for_function(caught_up, arg=["#lobby"])
        said_there = ["read while here", "missed 1", "missed 2", "missed 3"]
        assert await said_in(page, "#lobby") == said_there
        await expect(alice.messages().locator(".row.message .text")).to_have_text(said_there)
        await page.close()  # before the server stops: no refused reconnection logged
        await carol.close()
    finally:
        await runtime.stop()
