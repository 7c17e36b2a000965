"""Read markers between the terminal client and the account's other devices, against a
real hubbub server over real sockets.

alice runs `hubbub chat` logged in to her account, and has a second device: a raw IRC
connection logged in to the same account with `draft/read-marker` (what her phone's
client would send and hear). What she reads on one is no longer unread on the other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual import events
from textual.pilot import Pilot

from hubbub.app import Runtime
from hubbub.client import Client
from hubbub.client.state import Buffer
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import BufferList
from hubbub.irc.message import Message
from tests.client.conftest import MakeClient
from tests.client.test_tui import SIZE, chat_app, joined, static_text, until
from tests.client.test_tui_people import buffer, has_line, register_accounts
from tests.helpers import LineClient, connected

MakeServer = Callable[..., Awaitable[Runtime]]


def stamp(when: datetime) -> str:
    """A MARKREAD value for a time: `timestamp=2024-05-01T12:00:01.500Z`."""
    return "timestamp=" + when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def other_device(runtime: Runtime, account: str) -> LineClient:
    """A second connection of `account`: read markers and server-time negotiated, logged in."""
    device = await connected(runtime, f"{account}_phone")
    device.send("CAP REQ :draft/read-marker server-time")
    await device.expect(lambda m: m.command == "CAP" and m.param(1) == "ACK")
    device.send(f"PRIVMSG NickServ :IDENTIFY {account} pw-{account}")
    await device.expect("900")
    return device


def markread(target: str, value: str) -> Callable[[Message], bool]:
    return lambda m: m.command == "MARKREAD" and m.params[:2] == [target, value]


def line_time(app: ChatApp, name: str, text: str) -> datetime:
    return next(line.time for line in buffer(app, name).lines if line.text == text)


def listed(app: ChatApp, name: str) -> str:
    """The buffer list's row for `name`, as drawn: `2 #room 1!`."""
    rows = static_text(app.query_one(BufferList)).splitlines()
    return next(row.strip() for row in rows if f" {name}" in row)


async def later_than(pilot: Pilot, when: datetime) -> None:
    """Wait until the clock (the server's too: the same machine's) is past the millisecond
    `when` names, so that what is said next is not of that millisecond: a marker at a
    line is at every line of its millisecond (docs/history.md)."""
    await until(pilot, lambda: datetime.now(UTC) - when > timedelta(milliseconds=1), "the next millisecond")


def counts(room: Buffer) -> tuple[int, bool]:
    return room.unread, room.mentioned



async def in_room(
    make_server: MakeServer, make_client: MakeClient, tmp_path: Path,
) -> tuple[Client, LineClient, ChatApp]:  # fmt: skip
    """bob in #room (a raw client), alice's phone (a raw client on her account) and her
    terminal client (SASL, joining #room), on a server keeping its store in `tmp_path`."""
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    await register_accounts(runtime, make_client, "alice", "bob")
    bob, _ = await make_client(runtime, "bob", channels=("#room",))
    phone = await other_device(runtime, "alice")
    return bob, phone, chat_app(runtime, sasl_password="pw-alice", channels=("#room",))


async def test_what_another_device_read_is_no_longer_unread_here(make_server: MakeServer, make_client: MakeClient,
                                                                 tmp_path: Path) -> None:
    """bob writes in #room while alice looks at another buffer; her phone reads up to his
    first line: that line (a mention) is no longer counted, his second still is; read to
    the end there, nothing is; a new line counts again."""
    bob, phone, app = await in_room(make_server, make_client, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#room", 2), "alice and bob in #room")
        await pilot.press("alt+1")  # the server buffer: #room out of sight
        room = buffer(app, "#room")
        bob.privmsg("#room", "alice: are you there?")
        await until(pilot, has_line(app, "#room", "alice: are you there?"), "bob's first line")
        await later_than(pilot, line_time(app, "#room", "alice: are you there?"))
        bob.privmsg("#room", "the meeting moved to three")
        await until(pilot, lambda: counts(room) == (2, True), "two unread lines, one a mention")
        assert listed(app, "#room").endswith("2!")

        phone.send(f"MARKREAD #room {stamp(line_time(app, '#room', 'alice: are you there?'))}")
        await until(pilot, lambda: counts(room) == (1, False), "what came after the phone's marker alone")
        assert listed(app, "#room").endswith("#room 1")

        phone.send(f"MARKREAD #room {stamp(line_time(app, '#room', 'the meeting moved to three'))}")
        await until(pilot, lambda: counts(room) == (0, False), "all of it read on the phone")
        assert listed(app, "#room").endswith("#room")

        bob.privmsg("#room", "see you there")
        await until(pilot, lambda: counts(room) == (1, False), "a new line unread again")


async def test_reading_in_the_terminal_marks_it_read_on_the_other_device(make_server: MakeServer,
                                                                        make_client: MakeClient,
                                                                        tmp_path: Path) -> None:
    """Switching to #room marks it read up to bob's line, at the server's time of it, and
    the server tells the phone; a line that arrives while #room is on screen moves the
    marker on."""
    bob, phone, app = await in_room(make_server, make_client, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#room", 2), "alice and bob in #room")
        await pilot.press("alt+1")
        room = buffer(app, "#room")
        bob.privmsg("#room", "anyone?")
        await until(pilot, lambda: room.unread == 1, "bob's line unread")

        await pilot.press("alt+2")  # #room on screen
        assert app.state.current is room
        await phone.expect(markread("#room", stamp(line_time(app, "#room", "anyone?"))), timeout=10)

        bob.privmsg("#room", "still here?")
        await until(pilot, has_line(app, "#room", "still here?"), "the new line on screen")
        await phone.expect(markread("#room", stamp(line_time(app, "#room", "still here?"))), timeout=10)


async def test_a_conversation_read_on_another_device_opens_read(make_server: MakeServer, make_client: MakeClient,
                                                               tmp_path: Path) -> None:
    """bob wrote to alice's phone, and she read it there. Starting the terminal client
    opens the conversation (the server says it had news: CHATHISTORY TARGETS) with
    nothing unread, since the client asks for its read marker; what bob says next is."""
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    await register_accounts(runtime, make_client, "alice", "bob")
    bob, _ = await make_client(runtime, "bob", sasl_password="pw-bob")
    phone = await other_device(runtime, "alice")
    bob.privmsg("alice_phone", "are you coming tonight?")
    heard = await phone.expect("PRIVMSG")
    phone.send(f"MARKREAD bob timestamp={heard.tags['time']}")
    await phone.expect("MARKREAD", "bob")
    app = chat_app(runtime, sasl_password="pw-alice")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await until(pilot, lambda: has_line(app, "bob", "are you coming tonight?")() and buffer(app, "bob").unread == 0,
                    "the conversation opened, read")
        conversation = buffer(app, "bob")
        assert not conversation.mentioned and app.state.current.name == "#lobby"
        bob.privmsg("alice", "hello?")
        await until(pilot, lambda: counts(conversation) == (1, True), "bob's new line unread")


async def test_nothing_is_marked_read_while_the_terminal_is_in_the_background(
        make_server: MakeServer, make_client: MakeClient, tmp_path: Path) -> None:
    """A line that arrives in the buffer on screen while the terminal has lost the focus
    (the terminal says so) is not read yet: nothing is marked until the focus is back."""
    bob, phone, app = await in_room(make_server, make_client, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#room", 2), "alice and bob in #room")
        app.post_message(events.AppBlur())
        await until(pilot, lambda: not app.state.focused, "the focus gone")
        bob.privmsg("#room", "are you at your desk?")
        await until(pilot, has_line(app, "#room", "are you at your desk?"), "bob's line on screen")
        assert app.state.read_marker("#room") is None and app._mark_timer is None  # nothing to mark

        app.post_message(events.AppFocus())
        await phone.expect(markread("#room", stamp(line_time(app, "#room", "are you at your desk?"))), timeout=10)


async def test_leaving_right_after_reading_still_marks_it_read(make_server: MakeServer, make_client: MakeClient,
                                                              tmp_path: Path) -> None:
    """Read, then Ctrl+Q before the pause is over: the mark goes before the goodbye,
    not lost with the pause."""
    bob, phone, app = await in_room(make_server, make_client, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.mark_read_delay = 3600.0  # a pause that never ends within the test
        await until(pilot, joined(app, "#room", 2), "alice and bob in #room")
        bob.privmsg("#room", "last word")
        await until(pilot, has_line(app, "#room", "last word"), "bob's line on screen")
        when = line_time(app, "#room", "last word")
        await pilot.press("ctrl+q")
        await phone.expect(markread("#room", stamp(when)), timeout=10)
        await until(pilot, lambda: app.return_code == 0, "the app to exit")
