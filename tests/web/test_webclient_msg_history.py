"""A private conversation opened with `/msg`, in Debian's Chromium against hubbub: its
history is drawn above the line sent.

bob has written to alice's account (to her laptop, which holds the nick alice); on her
phone (the same account, as alice_) she answers with `/msg bob ...`. The page shows the
empty conversation, sends the line, then asks for the conversation's history; the
server's echo of the line and the history come back together, often in one frame of the
page. The line is new (drawn and read out at once); the history goes in above it, as it
does when it comes alone, up to "Beginning of the conversation", the view at the bottom.
It once stayed in the page's memory, undrawn, until the conversation was shown again.

To have the echo and the history in one frame every time, the page's clock is paused
(no frame, no timer) and its connection goes through Playwright: the echo waits until
the page has asked for the history, and until the frame that asked is over (a frame's
timers run while real time goes on: an echo let through as soon as the request was
sent was drawn, now and then, by a timer of that frame, alone).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.e2e_accounts.support import registered_account  # noqa: E402
from tests.helpers import LineClient  # noqa: E402
from tests.web.fixtures import BrowserUser, WebServer  # noqa: E402
from tests.web.held import HeldWebSocket  # noqa: E402
from tests.web.test_webclient_a11y_audit import listen, said, said_count  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "sekrit-words"
BEGINNING = "Beginning of the conversation"
FOLLOWING_PX = 48  # this close to the bottom, the list follows new messages (messagelist.js)


class EchoWithHistory(HeldWebSocket):
    """From the page's `PRIVMSG bob` on, what the server sends waits until the page has
    sent its `CHATHISTORY ... bob` request; then it goes on, the history right after the
    echo."""

    def __init__(self, nick: str) -> None:
        super().__init__()
        self.said = re.compile(rf"^(?:@\S+ )?PRIVMSG {re.escape(nick)} ", re.IGNORECASE)
        self.asked = re.compile(rf"^CHATHISTORY \S+ {re.escape(nick)} ", re.IGNORECASE)
        self.requested = asyncio.Event()  # the page has asked for the history

    def from_page(self, line: str) -> None:
        if self.said.search(line):
            self.hold()
        if self.held is not None and self.asked.search(line):
            self.requested.set()

    async def release(self) -> None:  # type: ignore[override]
        """Once the page has asked for the history: what waited goes to it, and from now
        on everything as it comes."""
        await asyncio.wait_for(self.requested.wait(), 10)
        super().release()


async def bob_wrote_to_alice(
    web_server: WebServer, open_user: Callable[[], Awaitable[BrowserUser]], *lines: str
) -> tuple[BrowserUser, LineClient]:  # fmt: skip
    """alice's phone (a page: alice_, logged in to alice's account, in #lobby, its
    connection through EchoWithHistory and its clock installed) and bob (a raw client
    logged in to his account), who has said `lines` to alice: to her laptop (a raw client
    holding the nick alice on the same account); the phone got them too (every device of
    the account does), and closed the conversation: what they said is history to it now."""
    laptop = await registered_account(web_server.runtime, "alice", PASSWORD)
    bob = await registered_account(web_server.runtime, "bob", "bobs-own-words")
    phone = await open_user()
    page = phone.page
    phone.echo = EchoWithHistory("bob")  # type: ignore[attr-defined]
    await phone.echo.install(page)  # type: ignore[attr-defined]
    await page.clock.install()
    await phone.connect("alice", "#lobby", password=PASSWORD)
    await expect(page.locator("#nick-label")).to_have_text("alice_")
    for line in lines:
        bob.send(f"PRIVMSG alice :{line}")
    for line in lines:
        await laptop.expect("PRIVMSG", "alice", line)
    await page.wait_for_function(
        "n => (window.hubbub.state.buffer('bob')?.messages.length || 0) >= n", arg=len(lines), polling=50)
    await page.clock.run_for(1000)
    await phone.switch_to("bob")
    await phone.say("/close")
    await expect(page.locator("#buffer-list")).not_to_contain_text("bob")
    await phone.switch_to("#lobby")
    return phone, bob


async def msg_bob_in_one_frame(phone: BrowserUser, bob: LineClient, text: str, earlier: int) -> None:
    """alice types `/msg bob text` in #lobby, the page's clock paused: the conversation is
    shown (empty) in a frame, its history asked for, and the echo and the `earlier` lines
    of history reach the page before its next frame; then the clock goes on."""
    page = phone.page
    await page.clock.pause_at((await page.evaluate("Date.now()") + 1000) / 1000)
    await phone.say(f"/msg bob {text}")
    await page.clock.run_for(20)  # a frame: bob's conversation shown, its history asked for
    await bob.expect("PRIVMSG", "bob", text)
    await phone.echo.release()  # type: ignore[attr-defined]  # the frame is over: no other comes
    await page.wait_for_function(
        """([text, earlier]) => {
          const b = window.hubbub.state.buffer('bob');
          return !!b && !b.historyLoading && b.messages.length === earlier + 1 && b.messages[earlier].text === text;
        }""",
        arg=[text, earlier], polling=50)  # fmt: skip
    await expect(page.locator("#buffer-title")).to_have_text("bob")
    await expect(phone.messages().locator(".row")).to_have_count(0)  # neither drawn yet: one frame draws both
    await page.clock.run_for(1000)


async def at_the_bottom(phone: BrowserUser) -> bool:
    return await phone.messages().evaluate(
        "(m, px) => m.scrollHeight - m.scrollTop - m.clientHeight < px", FOLLOWING_PX
    )


async def test_a_conversation_opened_with_msg_shows_its_history_above_the_line_sent(
    web_server, open_user
) -> None:  # fmt: skip
    phone, bob = await bob_wrote_to_alice(web_server, open_user, "hey alice, lunch today?")
    await listen(phone.page)
    start = await said_count(phone.page)
    await msg_bob_in_one_frame(phone, bob, "yes! 12:30?", earlier=1)
    messages = phone.messages()
    await expect(messages.locator(".row.message .text")).to_have_text(["hey alice, lunch today?", "yes! 12:30?"])
    await expect(messages.locator(".history-status")).to_have_text(BEGINNING)
    # The line sent is news, read out; the history is not (it is drawn in bulk).
    texts = [s["text"] for s in await said(phone.page, start)]
    assert any("yes! 12:30?" in t for t in texts), texts
    assert not [t for t in texts if "lunch today" in t], texts
    await phone.page.clock.resume()


async def test_a_long_history_goes_in_above_with_the_view_left_at_the_bottom(web_server, open_user) -> None:
    earlier = [f"earlier line {i:02d} from bob" for i in range(40)]  # more than the list shows
    phone, bob = await bob_wrote_to_alice(web_server, open_user, *earlier)
    await msg_bob_in_one_frame(phone, bob, "sorry, only seeing these now", earlier=40)
    messages = phone.messages()
    rows = messages.locator(".row.message .text")
    await expect(rows).to_have_text([*earlier, "sorry, only seeing these now"])
    assert await at_the_bottom(phone)  # where it was: following the conversation
    await expect(rows.last).to_be_in_viewport()
    await expect(rows.first).not_to_be_in_viewport()  # the list scrolls
    await expect(phone.page.locator("#jump")).to_be_hidden()
    await expect(messages.locator(".history-status")).to_have_text(BEGINNING)
    assert not await messages.locator(".history-status").evaluate(
        "(s) => s.getBoundingClientRect().bottom > s.parentElement.getBoundingClientRect().top"
    )  # above, scrolled past
    await phone.page.clock.resume()
