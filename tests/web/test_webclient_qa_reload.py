"""What a QA pass in a real browser found, in Debian's Chromium against hubbub.

The quick switcher (Ctrl+K) finds the server buffer by the name the conversation list
shows for it; a reload brings back the private conversations that were open, with
their history, as it brings back channels; a reload that cannot resume for want of a
password not remembered says so on the connect screen; and a channel just created
says "You created #channel" instead of the modes the server gave it ("hubbub.local sets
mode +nt"), while modes people set are shown as before.

A reload goes back to the buffer that was being looked at (a channel once joined, a
private conversation, the server buffer), or to the first channel when that one does
not come back; and not once the person has gone elsewhere meanwhile. The page title
names the server buffer as the list does ("Server" when the server gives no network
name).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest

pytest.importorskip("playwright")

from playwright.async_api import Page, WebSocketRoute, expect  # noqa: E402

from tests.e2e_accounts.support import registered_account  # noqa: E402
from tests.helpers import sync  # noqa: E402
from tests.web.held import HeldWebSocket  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOT_REMEMBERED = "Your password is not remembered in this browser: enter it to reconnect."


def buffer_item(user, name: str):
    """The conversation list's entry for exactly `name`."""
    return user.page.locator("#buffer-list li").filter(
        has=user.page.locator(".name", has_text=re.compile(rf"^{re.escape(name)}$"))
    )


async def registered(user) -> None:
    await expect(user.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")


async def account_of_alice(web_server) -> None:
    """The account alice (password `alice-words`), its registering client gone."""
    owner = await registered_account(web_server.runtime, "alice", "alice-words")
    owner.send("QUIT")
    await owner.closed()


async def switch_with_ctrl_k(user, typed: str) -> None:
    page = user.page
    await page.keyboard.press("Control+k")
    await expect(page.locator("#switch-dialog")).to_be_visible()
    await page.keyboard.type(typed)
    await page.keyboard.press("Enter")


# -- the quick switcher --------------------------------------------------------------------------


async def test_ctrl_k_finds_the_server_buffer_by_the_name_the_list_shows(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    await expect(buffer_item(alice, "hubbub")).to_have_count(1)  # the network's name, in the list
    await switch_with_ctrl_k(alice, "hubb")
    await expect(page.locator("#buffer-title")).to_have_text("hubbub")
    await expect(page.locator("#topic")).to_have_text("Server messages")
    await alice.switch_to("#lobby")
    await switch_with_ctrl_k(alice, "Server")  # what its topic line calls it
    await expect(page.locator("#buffer-title")).to_have_text("hubbub")
    await page.keyboard.press("Control+k")
    await page.keyboard.type("lob")  # channels as before
    await expect(page.locator("#switch-results [role=option]")).to_have_text(["#lobby"])
    await page.keyboard.press("Enter")
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")


# -- private conversations across a reload ------------------------------------------------------


async def test_a_reload_brings_back_the_private_conversations_that_were_open(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#lobby")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    carol.send("PRIVMSG alice :psst")
    await expect(buffer_item(alice, "carol")).to_have_count(1)
    await alice.say("/query dave")  # opened by her, nobody by that name online
    await expect(page.locator("#buffer-title")).to_have_text("dave")
    await alice.say("/query erin")
    await alice.say("/close")
    await expect(buffer_item(alice, "erin")).to_have_count(0)

    await page.reload()
    await registered(alice)
    await expect(page.locator("#buffer-title")).to_have_text("dave")  # where closing erin left her
    # back without anyone writing again; the one closed stays closed
    await expect(page.locator("#buffer-list .buffer .name")).to_have_text(["hubbub", "#lobby", "carol", "dave"])
    await alice.switch_to("carol")
    await expect(page.locator("#topic")).to_have_text("Private conversation")
    await alice.say("still here?")
    await carol.expect("PRIVMSG", "carol", "still here?")

    await alice.say("/close")  # closed now: gone after the next reload too
    await expect(buffer_item(alice, "carol")).to_have_count(0)
    await page.reload()
    await registered(alice)
    await expect(page.locator("#buffer-list .buffer .name")).to_have_text(["hubbub", "#lobby", "dave"])


class HeldBack:
    """The server's frames to the page, each held back while `holds(line)` says so, until
    `release()` hands them on in order (Playwright's WebSocket route)."""

    def __init__(self, holds: Callable[[str], bool]) -> None:
        self.holds = holds
        self.held: list[str | bytes] = []
        self.ws: WebSocketRoute | None = None
        self.server: WebSocketRoute | None = None
        self.connections = 0  # WebSockets the page opened

    def route(self, ws: WebSocketRoute) -> None:
        self.ws = ws
        self.server = ws.connect_to_server()
        self.server.on_message(self.from_server)
        self.connections += 1

    async def cut(self) -> None:
        """The connection lost, both ways: what was held back is lost with it."""
        assert self.ws is not None and self.server is not None
        self.held.clear()
        await self.server.close()
        await self.ws.close()

    def from_server(self, message: str | bytes) -> None:
        if self.holds(message if isinstance(message, str) else message.decode()):
            self.held.append(message)
        else:
            assert self.ws is not None
            self.ws.send(message)

    def release(self) -> None:
        assert self.ws is not None
        for message in self.held:
            self.ws.send(message)
        self.held.clear()


async def talking_to_carol(open_user, irc_user, frames: HeldBack):
    """alice in the browser, her frames routed through `frames`, in a private
    conversation carol opened; and carol."""
    carol = await irc_user("carol", "#lobby")
    alice = await open_user()
    await alice.page.route_web_socket(re.compile(r"/webirc$"), frames.route)
    await alice.connect("alice", "#lobby")
    carol.send("PRIVMSG alice :psst")
    await expect(buffer_item(alice, "carol")).to_have_count(1)
    await alice.switch_to("carol")
    return alice, carol


async def test_a_conversation_closed_before_its_last_line_came_back_stays_closed(open_user, irc_user) -> None:
    """On a slow network a line's echo can come after the conversation was closed (said,
    then /close at once): it must not open it again, here or after a reload. Opened
    again meanwhile, the conversation shows the echo as usual."""
    frames = HeldBack(lambda line: re.search(r" PRIVMSG carol :(bye|see you)$", line) is not None)
    alice, carol = await talking_to_carol(open_user, irc_user, frames)  # our echoes to carol wait
    page = alice.page
    await alice.say("bye")
    await carol.expect("PRIVMSG", "carol", "bye")
    await alice.say("/close")
    await expect(buffer_item(alice, "carol")).to_have_count(0)
    assert len(frames.held) == 1
    frames.release()  # the echo, late
    carol.send("PRIVMSG #lobby :after the echo")  # shown once the echo before it is handled
    await expect(alice.messages().get_by_text("after the echo")).to_have_count(1)
    await expect(buffer_item(alice, "carol")).to_have_count(0)
    await page.reload()
    await registered(alice)
    await expect(page.locator("#buffer-list .buffer .name")).to_have_text(["hubbub", "#lobby"])

    # closed, then opened again before the echo: the echo is shown there
    carol.send("PRIVMSG alice :one more thing")
    await expect(buffer_item(alice, "carol")).to_have_count(1)
    await alice.switch_to("carol")
    await alice.say("see you")
    await carol.expect("PRIVMSG", "carol", "see you")
    await alice.say("/close")
    await expect(buffer_item(alice, "carol")).to_have_count(0)
    await alice.say("/query carol")
    await expect(page.locator("#buffer-title")).to_have_text("carol")
    frames.release()
    await expect(alice.messages().get_by_text("see you")).to_have_count(1)


async def test_a_conversation_closed_while_a_paste_goes_out_stays_closed(open_user, irc_user) -> None:
    """A paste longer than one multiline message goes out a message at a time, each after
    the server's PONG to the one before (client.js `pump`): closed meanwhile, the
    conversation is not opened again by the echoes of what was sent, nor of what was
    still to go."""
    holding = [False]  # the page hears nothing meanwhile: no echo, no PONG, so the paste waits
    frames = HeldBack(lambda line: holding[0])
    alice, carol = await talking_to_carol(open_user, irc_user, frames)
    lines = [f"line {i:03} of a paste longer than one multiline message, {'x' * 40}" for i in range(120)]
    holding[0] = True
    await alice.say("\n".join(lines))  # about 11 KB: three messages of at most 4096 bytes
    await carol.expect("PRIVMSG", "carol", lines[0])
    await alice.say("/close")
    await expect(buffer_item(alice, "carol")).to_have_count(0)
    holding[0] = False
    frames.release()
    await carol.expect("PRIVMSG", "carol", lines[-1], timeout=20)  # the rest went out
    carol.send("PRIVMSG #lobby :after the paste")
    await expect(alice.messages().get_by_text("after the paste")).to_have_count(1)
    await expect(buffer_item(alice, "carol")).to_have_count(0)


async def test_a_line_lost_with_its_connection_does_not_hide_a_later_echo(open_user, irc_user) -> None:
    """The echo of a line said just before /close is dropped when it comes; that of a
    line whose connection was lost meanwhile never comes, and must not hide the echo of
    the next line to that nick, once connected again: a /notice to carol opens the
    conversation with it, as it does when nothing was closed."""
    frames = HeldBack(lambda line: re.search(r" PRIVMSG carol :bye$", line) is not None)
    alice, carol = await talking_to_carol(open_user, irc_user, frames)
    await alice.say("bye")
    await carol.expect("PRIVMSG", "carol", "bye")
    await alice.say("/close")
    await expect(buffer_item(alice, "carol")).to_have_count(0)
    assert len(frames.held) == 1
    await frames.cut()  # the echo was on its way
    await carol.expect("QUIT")
    await sync(carol)
    for _ in range(200):  # the page connects again on its own, a second or so later
        if frames.connections == 2:
            break
        await asyncio.sleep(0.05)
    assert frames.connections == 2
    await registered(alice)
    await alice.say("/notice carol back again")
    await carol.expect("NOTICE", "carol", "back again")
    await expect(buffer_item(alice, "carol")).to_have_count(1)
    await alice.switch_to("carol")
    await expect(alice.messages().get_by_text("back again")).to_have_count(1)


async def test_private_conversations_come_back_with_their_history_for_accounts(web_server, open_user) -> None:
    """Private history is kept between two accounts: a reload fetches the latest of each
    conversation, as a channel's on joining, before it is even looked at."""
    await account_of_alice(web_server)
    carol = await registered_account(web_server.runtime, "carol", "carol-words")
    alice = await open_user()
    page = alice.page
    await page.check("#connect-remember")  # so that a reload resumes by itself
    await alice.connect("alice", "#lobby", password="alice-words")
    carol.send("PRIVMSG alice :said before the reload")
    await sync(carol)
    await expect(buffer_item(alice, "carol")).to_have_count(1)

    await page.reload()
    await registered(alice)
    await expect(buffer_item(alice, "carol")).to_have_count(1)
    await page.wait_for_function(
        "() => window.hubbub.state.buffer('carol').messages.some((r) => r.text === 'said before the reload')"
    )  # fmt: skip
    await expect(buffer_item(alice, "carol").locator(".badge")).to_have_text("")  # history, not news
    await alice.switch_to("carol")
    await expect(alice.messages().locator(".row.message .text")).to_have_text([re.compile("said before the reload$")])


# -- a password not remembered ----------------------------------------------------------------------


async def test_a_reload_without_the_password_says_why_the_connect_screen_is_back(web_server, open_user) -> None:
    await account_of_alice(web_server)
    carol = await registered_account(web_server.runtime, "carol", "carol-words")
    alice = await open_user()
    page = alice.page
    reason = page.locator("#connect-reason")
    await expect(page.locator("#connect-fields")).to_be_visible()
    await expect(reason).to_be_hidden()  # a first visit: nothing to explain
    await alice.connect("alice", "#lobby", password="alice-words")  # "remember" left unticked
    carol.send("PRIVMSG alice :before the reload")
    await expect(buffer_item(alice, "carol")).to_have_count(1)

    await page.reload()
    await expect(page.locator("#connect")).to_be_visible()
    await expect(reason).to_be_visible()
    await expect(reason).to_have_text(NOT_REMEMBERED)
    password = page.locator("#connect-password")
    await expect(password).to_be_focused()
    await expect(password).to_have_accessible_description(re.compile(re.escape(NOT_REMEMBERED)))
    await expect(page.locator("#connect-nick")).to_have_value("alice")

    # The password given again, the session is the one the reload cut: its conversations back.
    await page.keyboard.type("alice-words")
    await page.keyboard.press("Enter")
    await registered(alice)
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    await expect(buffer_item(alice, "carol")).to_have_count(1)

    async with page.expect_event("load"):  # /quit reloads the page to the connect screen
        await alice.say("/quit")  # left on purpose: no reason to give there
    await expect(page.locator("#connect")).to_be_visible()
    await expect(page.locator("#connect-fields")).to_be_visible()
    await expect(reason).to_be_hidden()


async def test_a_reload_with_the_password_remembered_resumes_without_a_word(web_server, open_user) -> None:
    await account_of_alice(web_server)
    alice = await open_user()
    page = alice.page
    await page.check("#connect-remember")
    await alice.connect("alice", "#lobby", password="alice-words")
    await page.reload()
    await registered(alice)
    await expect(page.locator("#connect")).to_be_hidden()
    await expect(page.locator("#connect-reason")).to_be_hidden()


# -- the modes of a channel just created ------------------------------------------------------------


async def test_a_new_channel_says_you_created_it_not_the_servers_modes(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#fresh")  # created by her join: the server sends her MODE +nt
    mode_rows = alice.messages().locator(".row.mode .text")
    await expect(alice.messages().locator(".chip.join")).to_have_text(["alice joined"])
    await expect(alice.messages().locator(".row.info .text")).to_have_text([re.compile(r"You created #fresh\.$")])
    await expect(alice.messages()).not_to_contain_text("(+nt)")
    await expect(mode_rows).to_have_count(0)
    await alice.say("/mode #fresh +m")
    moderated = re.compile(r"alice moderated #fresh: only people with a voice talk \(\+m\)$")
    await expect(mode_rows).to_have_text([moderated])
    carol = await irc_user("carol", "#fresh")
    await alice.say("/mode #fresh +v carol")
    await carol.expect("MODE", "#fresh", "+v", "carol")
    await expect(mode_rows).to_have_count(2)
    await expect(mode_rows.last).to_contain_text("alice gave carol a voice (+v carol)")


# -- the buffer looked at, across a reload --------------------------------------------------------


async def remembered_active(page: Page) -> str | None:
    """The buffer remembered for the next reload (the "active" setting)."""
    return await page.evaluate("() => JSON.parse(localStorage.getItem('hubbub.settings')).active")


async def remembered_active_is(page: Page, name: str) -> None:
    await page.wait_for_function(
        "(name) => JSON.parse(localStorage.getItem('hubbub.settings')).active === name", arg=name
    )  # fmt: skip


async def test_a_reload_goes_back_to_the_channel_being_looked_at(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    page = alice.page
    await alice.switch_to("#other")
    await page.reload()
    await registered(alice)
    await expect(page.locator("#buffer-title")).to_have_text("#other")
    await expect(page.locator("#member-list")).to_contain_text("alice")  # joined, not just shown
    await expect(buffer_item(alice, "#other")).to_have_class(re.compile(r"\bactive\b"))
    await expect(page).to_have_title("#other · hubbub")


async def test_a_reload_goes_back_to_the_private_conversation_or_the_server_buffer(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    await alice.say("/query dave")
    await expect(page.locator("#buffer-title")).to_have_text("dave")
    await page.reload()
    await registered(alice)
    await expect(page.locator("#buffer-title")).to_have_text("dave")
    await expect(page.locator("#topic")).to_have_text("Private conversation")
    await expect(page.locator("#member-list")).to_be_empty()

    await alice.switch_to("hubbub")  # the server buffer, under the network's name
    await page.reload()
    await registered(alice)
    await expect(buffer_item(alice, "#lobby")).to_have_count(1)
    await expect(page.locator("#buffer-title")).to_have_text("hubbub")
    await expect(page.locator("#topic")).to_have_text("Server messages")
    await page.wait_for_function("() => window.hubbub.state.buffer('#lobby').joined")
    await expect(page.locator("#buffer-title")).to_have_text("hubbub")  # the join did not move it


@pytest.mark.parametrize("keyed", [False, True], ids=["refused-after-the-first", "refused-before-the-first"])
async def test_a_reload_whose_channel_refuses_the_join_lands_on_the_first_channel_saying_why(
    open_user, irc_user, keyed: bool
) -> None:  # fmt: skip
    carol = await irc_user("carol", "#locked")  # its operator
    alice = await open_user()
    page = alice.page
    if keyed:  # a keyed channel is joined first after a reload: refused before #lobby is in
        carol.send("MODE #locked +k sesame")
        await carol.expect("MODE", "#locked", "+k")
        await alice.connect("alice", "#lobby")
        await alice.say("/join #locked sesame")
        await expect(page.locator("#buffer-title")).to_have_text("#locked")
    else:
        await alice.connect("alice", "#lobby #locked")
        await alice.switch_to("#locked")
    await expect(page.locator("#member-list")).to_contain_text("alice")
    carol.send("MODE #locked +i")
    await carol.expect("MODE", "#locked", "+i")
    await page.reload()  # alice leaves with the reload: +i keeps her out now
    await registered(alice)
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    why = re.compile(r"#locked: Cannot join channel \(\+i\)$")
    await expect(alice.messages().locator(".row.error .text")).to_have_text([why])  # said where she lands
    await expect(buffer_item(alice, "#locked")).to_have_count(0)
    await remembered_active_is(page, "#lobby")


class HeldJoin(HeldWebSocket):
    """From the server's JOIN of `channel` on, what the server sends about it (its JOIN,
    topic, names, history...) is held back until `release()`, so that the channel comes
    back as late as a test needs, whatever the order the page joins its channels in; the
    rest goes through."""

    def __init__(self, channel: str) -> None:
        super().__init__()
        self.join = re.compile(rf" JOIN :?{re.escape(channel)}(?: |$)")
        self.about = re.compile(rf"[ :]{re.escape(channel)}(?=[ ,]|$)", re.IGNORECASE)
        self.holding = asyncio.Event()

    def from_server(self, line: str) -> None:
        if self.join.search(line) and not self.holding.is_set():
            self.hold()
            self.holding.set()

    def holds(self, line: str) -> bool:
        return bool(self.about.search(line))


async def test_a_channel_coming_back_late_does_not_take_the_person_from_where_they_went(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #other")
    page = alice.page
    await alice.switch_to("#other")
    held = HeldJoin("#other")
    await held.install(page)  # routes the WebSocket of the page the reload makes
    await page.reload()
    await asyncio.wait_for(held.holding.wait(), 10)
    await page.wait_for_function("() => window.hubbub.state.buffer('#lobby')?.joined")
    # Joined, but the page waits for #other instead of showing #lobby on the way; a
    # reload now would still go back to #other.
    await expect(page.locator("#buffer-title")).to_have_text("hubbub")
    assert await remembered_active(page) == "#other"

    await alice.switch_to("#lobby")  # the person goes there before #other is back
    await remembered_active_is(page, "#lobby")
    held.release()
    await page.wait_for_function("() => window.hubbub.state.buffer('#other')?.joined")
    await expect(buffer_item(alice, "#other")).not_to_have_class(re.compile(r"\bparted\b"))
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    assert await remembered_active(page) == "#lobby"


# -- the page title ------------------------------------------------------------------------------------


def without_network(message: str | bytes) -> str | bytes:
    """The server's frame, with the NETWORK= token left out of ISUPPORT (005)."""
    if isinstance(message, str) and " 005 " in message:
        return re.sub(r" NETWORK=\S*", "", message)
    return message


async def test_the_title_names_the_server_buffer_as_the_list_does_without_a_network_name(open_user) -> None:
    alice = await open_user()
    page = alice.page

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: ws.send(without_network(message)))

    await page.route_web_socket(re.compile(r"/webirc$"), route)
    await alice.connect("alice", "#lobby")
    assert await page.evaluate("window.hubbub.client.isupport.has('NETWORK')") is False
    await expect(page).to_have_title("#lobby · hubbub")
    await alice.switch_to("Server")
    await expect(buffer_item(alice, "Server")).to_have_count(1)
    await expect(page).to_have_title("Server · hubbub")
