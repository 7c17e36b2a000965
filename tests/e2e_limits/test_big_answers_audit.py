"""Audit: big answers. A question whose answer is larger than the asker's send queue
(`limits.sendq`) must reach the asker whole, in order, ending with its end numeric,
without dropping it (`SendQ exceeded`), without cutting the answer short, and without
holding up anyone else meanwhile.

What hubbub promises (docs/channels.md, docs/architecture.md, transport/gate.py):

* LIST and WHO are paced (ISUPPORT SAFELIST): written while less than half the sendq
  waits unsent for the asker, continued as it reads, so they arrive whole however long
  they are; the asker's own later lines wait for the end; "messages from others arrive
  between its lines"; an asker that reads none of it for `limits.ping_timeout` seconds
  is dropped (`SendQ exceeded`).
* "A reply that may be longer than the sendq ... is not written at once" (architecture).
  Other replies are written in one loop pass, which may hold up to sendq + room bytes
  (room: `limits.send_buffer`, what the kernel takes at once).

One shared network per test process (building it costs seconds): 3,000 members in #big,
each with a room of its own (3,000 channels with topics), a user in 500 of those rooms,
ban lists, a channel history. The sendq is 64 KiB; every test checks its premise (the
answer really is bigger than the sendq) where it claims one.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.helpers import LineClient, start_server, stuck_socket, sync

# the module's network (3,000 clients, their rooms, full ban lists) is set up once, by
# the first test: about 20 s on a quiet machine, three times that on a loaded one
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(240)]

SENDQ = 65536
ROOM = 65536  # limits.send_buffer (its default): one pass may write SENDQ + ROOM bytes
MEMBERS = 3000  # members of #big, each with a room of its own
WIDE = 500  # rooms the user `wide` is in (WHOIS)
MAXLIST = 500  # limits.max_list_entries: MAXLIST=b:500
MONITOR_MAX = 2000  # limits.monitor
PATIENCE = 3.0  # limits.ping_timeout: how long a paced answer waits for a reader
SLOW = 20.0  # bound of every wait behind thousands of connections
# While the network is built, a message may wait behind 3,000 joins fanned out to 3,000
# members (4.5 M lines): on a machine shared with other test processes that took over 20 s.
BUILDING = 90.0
PAUSE = 0.003  # a slow reader's pause (not a wait for anything: it is how it reads)
SETTINGS = [
    f"limits.sendq={SENDQ}",
    f"limits.send_buffer={ROOM}",
    "limits.max_clients_per_ip=0",
    "limits.max_clients=0",
    "limits.max_channels=600",
    f"limits.max_list_entries={MAXLIST}",
    f"limits.monitor={MONITOR_MAX}",
    "limits.ping_interval=3600",
    f"limits.ping_timeout={PATIENCE}",
    "history.events=false",  # the store keeps the messages, not 6,000 joins
    "history.autoreplay_lines=0",  # what was said in #busy before is not replayed to its next members
]
FIXED = ["#big", "#busy", "#bans", "#bans100", "#hist"]  # every one with two members or more
HISTORY_CAPS = "draft/chathistory batch server-time message-tags"

_names = itertools.count(1)


def member(i: int) -> str:
    return f"m{i:04d}" + "x" * 25  # 30 bytes: NICKLEN


def room(i: int) -> str:
    return f"#room-{i:04d}-" + "r" * 50  # 61 bytes


def topic(i: int) -> str:
    return f"room {i:04d} " + "t" * 100


def ban_mask(i: int) -> str:
    mask = f"*!*@h{i:04d}-"
    return mask + "x" * (200 - len(mask) - len(".example")) + ".example"  # 200 bytes: the longest


def size(lines: list[str]) -> int:
    return sum(len(line.encode()) + 2 for line in lines)


class Sink(asyncio.Protocol):
    """A member that reads everything and keeps nothing."""

    def __init__(self) -> None:
        self.lost = False

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


@dataclass
class Network:
    server: Runtime
    channels: dict[str, str]  # every channel -> its topic
    history: list[str]  # what #hist holds, as its members saw it
    sinks: list[tuple[asyncio.Transport, Sink]] = field(default_factory=list)
    keep: list[LineClient] = field(default_factory=list)

    async def client(
        self, opened: list[LineClient], *channels: str, caps: str = "", slow: bool = False, long_nick: bool = False
    ) -> LineClient:
        """A registered client (its nick fresh) in `channels`. `slow`: a 4 KiB receive
        buffer and a 16 KiB read buffer, so what it does not read stays with the server.
        `long_nick`: a nick of NICKLEN (30) bytes."""
        host, port = self.server.irc_address()
        if slow:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (host, port))
            reader, writer = await asyncio.open_connection(sock=sock, limit=16384)
            client = LineClient(reader, writer)
        else:
            client = await LineClient.connect_to(host, port)
        opened.append(client)
        if caps:
            client.send(f"CAP REQ :{caps}")
            client.send("CAP END")
        nick = f"a{next(_names)}"
        await client.register(nick + "n" * (30 - len(nick)) if long_nick else nick)
        if caps:
            acks = [m for m in client.received if m.command == "CAP"]
            assert [m.params[1:] for m in acks] == [["ACK", caps]], acks
        for channel in channels:
            await client.join(channel)
        return client


def is_pong(token: str):
    return lambda m: m.command == "PONG" and m.params[-1:] == [token]


async def answer(client: LineClient, line: str) -> tuple[list[Message], list[str]]:
    """Send `line` and, at once, a PING: the server handles a connection's lines in order
    (a paced answer holds the later ones), so the PONG comes after the whole answer. What
    came before it: parsed and raw. A close on the way fails (with the last lines)."""
    token = f"end-{next(_names)}"
    start = len(client.received)
    client.send(f"{line}\r\nPING {token}")
    read = 0
    while True:
        message = await client.read_message(SLOW)
        if message is None:
            raise AssertionError(f"closed during {line[:40]!r} after {read} lines: {client.raw[-3:]}")
        if is_pong(token)(message):
            return client.received[start:-1], client.raw[start:-1]
        read += 1


async def read_on(client: LineClient, until, slow: bool = False) -> None:
    read = 0
    while True:
        message = await client.read_message(SLOW)
        if message is None:
            raise AssertionError(f"closed after {read} more lines: {client.raw[-3:]}")
        if until(message):
            return
        read += 1
        if slow and read % 32 == 0:
            await asyncio.sleep(PAUSE)


# -- the network ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def network() -> AsyncIterator[Network]:
    server = await start_server(*SETTINGS)
    host, port = server.irc_address()
    loop = asyncio.get_running_loop()
    net = Network(server, {}, [])
    try:
        owner = await LineClient.connect_to(host, port)
        helper = await LineClient.connect_to(host, port)
        net.keep += [owner, helper]
        await owner.register("owner")
        await helper.register("helper")
        for channel in FIXED:
            await owner.join(channel)
            await helper.join(channel)
            net.channels[channel] = ""
        owner.send("MODE #big +v owner")
        await owner.expect("MODE", "#big", "+v")

        # 3,000 members of #big, each founding a room with a topic, then telling the owner
        async def join(i: int) -> None:
            transport, sink = await loop.create_connection(Sink, host, port)
            net.sinks.append((transport, sink))  # type: ignore[arg-type]
            transport.write(
                f"NICK {member(i)}\r\nUSER longuser 0 * :R\r\nJOIN #big,{room(i)}\r\n"
                f"TOPIC {room(i)} :{topic(i)}\r\nPRIVMSG owner :ready\r\n".encode()
            )

        for start in range(0, MEMBERS, 250):
            await asyncio.gather(*(join(i) for i in range(start, min(MEMBERS, start + 250))))
        ready = 0
        while ready < MEMBERS:
            message = await owner.read_message(BUILDING)
            assert message is not None, owner.raw[-3:]
            if message.command == "PRIVMSG" and message.params == ["owner", "ready"]:
                ready += 1
        owner.received.clear()
        owner.raw.clear()
        assert not any(sink.lost for _, sink in net.sinks)
        net.channels.update({room(i): topic(i) for i in range(MEMBERS)})

        # `wide`, in the first 500 rooms
        wide = await LineClient.connect_to(host, port)
        net.keep.append(wide)
        await wide.register("wide")
        for start in range(0, WIDE, 50):
            for first in range(start, start + 50, 7):  # seven 61-byte names fit a line
                wide.send("JOIN " + ",".join(room(i) for i in range(first, min(first + 7, start + 50))))
            await sync(wide)
        assert len([m for m in wide.received if m.command == "366"]) == WIDE
        wide.received.clear()

        # ban lists of 200-byte masks: #bans full (MAXLIST), #bans100 at the default MAXLIST (100)
        for channel, count in (("#bans", MAXLIST), ("#bans100", 100)):
            for start in range(0, count, 2):  # two 200-byte masks fit a line
                owner.send(f"MODE {channel} +bb {ban_mask(start)} {ban_mask(start + 1)}")
                if start % 100 == 98:
                    await sync(owner)
            await sync(owner)
        owner.send("MODE #bans +b *!*@one-too-many.example")
        await owner.expect("478", "owner", "#bans")

        # #hist: 100 messages (CHATHISTORY=100) as long as a line lets them be
        historian = await LineClient.connect_to(host, port)
        net.keep.append(historian)
        await historian.register("historian", user="longuser")
        await historian.join("#hist")
        for i in range(100):
            historian.send(f"PRIVMSG #hist :{i:03d} " + "h" * 470)
        for _ in range(100):
            net.history.append((await helper.expect("PRIVMSG", "#hist", timeout=SLOW)).params[1])
        assert all(len(text) > 450 for text in net.history), [len(t) for t in net.history[:3]]
        helper.received.clear()
        yield net
    finally:
        await server.stop()
        for transport, _ in net.sinks:
            transport.close()
        for client in net.keep:
            await client.close()


@pytest_asyncio.fixture(loop_scope="module")
async def opened() -> AsyncIterator[list[LineClient]]:
    clients: list[LineClient] = []
    yield clients
    for client in clients:
        await client.close()


def rows_of(replies: list[Message], code: str) -> list[Message]:
    return [m for m in replies if m.command == code]


# -- LIST ------------------------------------------------------------------------------------------


async def test_list_of_thousands_of_channels_arrives_whole_and_in_order(network, opened) -> None:
    asker = await network.client(opened)
    replies, lines = await answer(asker, "LIST")
    assert size(lines) > 2 * (SENDQ + ROOM), size(lines)  # far past what one pass may write
    commands = [m.command for m in replies]
    assert commands == ["321", *["322"] * len(network.channels), "323"], (commands[:2], commands[-2:])
    listed = {m.params[1]: (m.params[2], m.params[3]) for m in rows_of(replies, "322")}
    assert len(listed) == len(network.channels)  # none twice
    assert {name: shown[1] for name, shown in listed.items()} == network.channels
    assert int(listed["#big"][0]) >= MEMBERS + 2
    assert listed[room(0)][0] == "2" and listed[room(MEMBERS - 1)][0] == "1"
    # and the asker is still there, and can ask again
    again, _ = await answer(asker, "LIST")
    assert len(rows_of(again, "322")) == len(network.channels)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("LIST #room-1*", [room(i) for i in range(1000, 2000)]),  # a mask (ELIST M)
        ("LIST <2", [room(i) for i in range(WIDE, MEMBERS)]),  # fewer users (ELIST U)
        ("LIST #room-0*,<2", [room(i) for i in range(WIDE, 1000)]),  # both must hold
        ("LIST !#room-*", FIXED),  # not matching (ELIST N)
        (f"LIST >{MEMBERS}", ["#big"]),
    ],
    ids=["mask", "users-below", "mask-and-users", "not-mask", "users-above"],
)
async def test_list_with_a_mask_or_elist_filter_arrives_whole(network, opened, query, expected) -> None:
    asker = await network.client(opened)
    elist = [t for m in asker.received if m.command == "005" for t in m.params[1:-1] if t.startswith("ELIST=")]
    assert elist and set("MNU") <= set(elist[0][6:]), elist
    replies, lines = await answer(asker, query)
    if len(expected) >= 1000:
        assert size(lines) > SENDQ + ROOM, size(lines)
    commands = [m.command for m in replies]
    assert commands == ["321", *["322"] * len(expected), "323"], (len(commands), commands[-2:])
    assert sorted(m.params[1] for m in rows_of(replies, "322")) == sorted(expected)


async def test_others_talk_on_while_a_list_goes_out_and_reaches_the_asker_between_its_rows(network, opened) -> None:
    """The asker reads the LIST's first line, then nothing for a while: a message said then
    reaches a third member at once, and reaches the asker between the LIST's rows, before
    its end (the LIST is far bigger than what the kernel and half the sendq hold). The
    asker's own PING, sent with the LIST, is answered after the end."""
    talker = await network.client(opened, "#busy")
    listener = await network.client(opened, "#busy")
    asker = await network.client(opened, "#busy", slow=True)
    await listener.expect("JOIN", "#busy")
    start = len(asker.received)
    asker.send("LIST\r\nPING after-the-list")
    await asker.expect("321")
    talker.send("PRIVMSG #busy :said while the list goes out")
    heard = await listener.expect("PRIVMSG", "#busy")
    assert heard.params[1] == "said while the list goes out"
    await read_on(asker, is_pong("after-the-list"))
    got = asker.received[start:-1]
    commands = [m.command for m in got]
    end = commands.index("323")
    assert size(asker.raw[-len(got) - 1 : -1]) > 2 * (SENDQ + ROOM)
    assert commands[end:] == ["323"], commands[end:]
    said = commands.index("PRIVMSG")
    assert 0 < said < end, (said, end)
    assert got[said].params == ["#busy", "said while the list goes out"]
    assert sorted(m.params[1] for m in rows_of(got, "322")) == sorted(network.channels)


async def test_a_reader_that_stops_reading_a_list_is_dropped_and_the_others_chat_on(network, opened) -> None:
    """A client that asks for the LIST and never reads: the others are not held up, and it
    is dropped (SendQ exceeded) once it has taken nothing for limits.ping_timeout."""
    talker = await network.client(opened, "#busy")
    listener = await network.client(opened, "#busy")
    stuck = await stuck_socket(network.server)
    nick = f"stuck{next(_names)}"
    try:
        stuck.send(f"NICK {nick}\r\nUSER s 0 * :never reads\r\nJOIN #busy\r\nLIST\r\n".encode())
        assert (await listener.expect("JOIN", "#busy")).source.startswith(f"{nick}!")
        for i in range(3):
            talker.send(f"PRIVMSG #busy :while it is stuck {i}")
            assert (await listener.expect("PRIVMSG", "#busy")).params[1] == f"while it is stuck {i}"
        quit_ = await listener.expect("QUIT", timeout=PATIENCE + SLOW)
        assert quit_.source.startswith(f"{nick}!") and quit_.params == ["SendQ exceeded"]
        talker.send("PRIVMSG #busy :after it")
        assert (await listener.expect("PRIVMSG", "#busy")).params[1] == "after it"
    finally:
        stuck.close()


# -- NAMES and WHO of a channel of thousands -------------------------------------------------------

NAMES_CAPS = [
    pytest.param("", id="plain"),
    pytest.param("multi-prefix", id="multi-prefix"),
    pytest.param("userhost-in-names", id="userhost-in-names"),
    pytest.param("multi-prefix userhost-in-names", id="both"),
]


def check_names(replies: list[Message], lines: list[str], caps: str, joined: bool = False) -> None:
    """A whole NAMES of #big: every member once, in 353 lines of at most 512 bytes, then 366;
    `joined`: the asker is among them."""
    names = rows_of(replies, "353")
    assert names and all(m.params[1:3] == ["=", "#big"] for m in names)
    assert all(len(line.encode()) + 2 <= 512 for line in lines)
    entries = [entry for m in names for entry in m.params[3].split(" ")]
    full = "userhost-in-names" in caps
    expected = [(member(i) + "!~longuser@127.0.0.1" if full else member(i)) for i in range(MEMBERS)]
    owner = ("@+" if "multi-prefix" in caps else "@") + "owner"
    found = sorted(e.split("!")[0] for e in entries if e.split("!")[0].lstrip("@+") in {"owner", "helper"})
    assert found == [owner, "helper"], found
    members = [e for e in entries if e.startswith("m")]
    if full:  # the user name as the server shows it (with or without a ~)
        shown_user = members[0].split("!")[1].split("@")[0]
        expected = [e.replace("~longuser", shown_user) for e in expected]
    assert sorted(members) == expected
    assert len(entries) == len(set(entries))
    assert len(entries) == MEMBERS + 2 + joined
    assert replies[-1].command == "366" and replies[-1].params[1] == "#big"
    assert [m.command for m in replies[: len(names)]] == ["353"] * len(names)


@pytest.mark.parametrize("caps", NAMES_CAPS)
async def test_names_of_a_channel_of_thousands_arrives_whole(network, opened, caps) -> None:
    asker = await network.client(opened, caps=caps)
    replies, lines = await answer(asker, "NAMES #big")
    assert size(lines) > SENDQ, size(lines)
    check_names(replies, lines, caps)


async def test_joining_a_channel_of_thousands_with_userhost_in_names_gives_its_names_whole(network, opened) -> None:
    caps = "multi-prefix userhost-in-names"
    asker = await network.client(opened, caps=caps)
    replies, lines = await answer(asker, "JOIN #big")
    assert replies[0].command == "JOIN", lines[:2]
    start = [m.command for m in replies].index("353")
    assert size(lines[start:]) > SENDQ + ROOM, size(lines[start:])
    check_names(replies[start:], lines[start:], caps, joined=True)


@pytest.mark.parametrize("caps", ["", "multi-prefix"], ids=["plain", "multi-prefix"])
@pytest.mark.parametrize(
    ("query", "code"), [("WHO #big", "352"), ("WHO #big %tcuhnfar,42", "354")], ids=["who", "whox"]
)
async def test_who_of_a_channel_of_thousands_arrives_whole(network, opened, query, code, caps) -> None:
    asker = await network.client(opened, caps=caps)
    replies, lines = await answer(asker, query)
    assert size(lines) > 2 * (SENDQ + ROOM), size(lines)
    assert [m.command for m in replies] == [code] * (MEMBERS + 2) + ["315"], [m.command for m in replies[-2:]]
    listed = [m.params[5] for m in replies[:-1]]  # 352: me #c user host server nick; 354: me 42 #c user host nick
    assert sorted(listed) == sorted([member(i) for i in range(MEMBERS)] + ["owner", "helper"])
    owner = [m for m in replies[:-1] if m.params[5] == "owner"]
    assert owner[0].params[6] == ("H@+" if caps else "H@"), owner[0].params
    if code == "354":
        assert {m.params[1] for m in replies[:-1]} == {"42"}
    assert replies[-1].params[1:] == ["#big", "End of WHO list"]


# -- WHOIS, ban lists, MONITOR, CHATHISTORY, HELP ---------------------------------------------------


async def test_whois_of_a_user_in_hundreds_of_channels_splits_319_and_ends(network, opened) -> None:
    asker = await network.client(opened)
    replies, lines = await answer(asker, "WHOIS wide")
    commands = [m.command for m in replies]
    assert commands[0] == "311" and commands[-1] == "318", commands
    first, last = commands.index("319"), len(commands) - 1 - commands[::-1].index("319")
    assert set(commands[first : last + 1]) == {"319"}  # one run of lines
    assert last > first  # split over lines
    assert all(len(line.encode()) + 2 <= 512 for line in lines)
    listed = [c for m in replies if m.command == "319" for c in m.params[2].split(" ")]
    assert sorted(listed) == sorted(room(i) for i in range(WIDE))
    assert all(m.params[1] == "wide" for m in replies if m.command == "319")


@pytest.mark.parametrize(
    ("channel", "count"),
    [
        pytest.param("#bans100", 100, id="default-maxlist"),
        pytest.param("#bans", MAXLIST, id="configured-maxlist"),
    ],
)
async def test_a_ban_list_at_its_maximum_arrives_whole(network, opened, channel, count) -> None:
    asker = await network.client(opened, channel, long_nick=True)
    replies, lines = await answer(asker, f"MODE {channel} +b")
    if count == MAXLIST:
        assert size(lines) > SENDQ + ROOM, size(lines)
    assert [m.command for m in replies] == ["367"] * count + ["368"], [m.command for m in replies[-2:]]
    assert [m.params[2] for m in replies[:-1]] == [ban_mask(i) for i in range(count)]
    assert all(m.params[1] == channel and m.params[3].startswith("owner!") for m in replies[:-1])


async def test_monitor_lists_at_their_maximum_arrive_whole(network, opened) -> None:
    online = [member(i) for i in range(1500)]
    offline = [f"gone{i:04d}" + "y" * 22 for i in range(MONITOR_MAX - len(online))]
    watched = online + offline
    asker = await network.client(opened)
    adds = "\r\n".join("MONITOR + " + ",".join(watched[i : i + 15]) for i in range(0, len(watched), 15))
    replies, lines = await answer(asker, adds)
    assert size(lines) > SENDQ, size(lines)
    assert {m.command for m in replies} == {"730", "731"}
    said_online = [t.split("!")[0] for m in rows_of(replies, "730") for t in m.params[1].split(",")]
    said_offline = [t for m in rows_of(replies, "731") for t in m.params[1].split(",")]
    assert sorted(said_online) == sorted(online) and sorted(said_offline) == sorted(offline)
    # the list is full: one more is refused
    full, _ = await answer(asker, "MONITOR + onemore")
    assert [m.command for m in full] == ["734"]

    replies, lines = await answer(asker, "MONITOR L")
    assert [m.command for m in replies][-1] == "733"
    assert {m.command for m in replies[:-1]} == {"732"}
    assert all(len(line.encode()) + 2 <= 512 for line in lines)
    assert sorted(t for m in replies[:-1] for t in m.params[1].split(",")) == sorted(watched)

    replies, lines = await answer(asker, "MONITOR S")
    assert size(lines) > SENDQ, size(lines)
    assert {m.command for m in replies} == {"730", "731"}
    assert all(len(line.encode()) + 2 <= 512 for line in lines)
    states = [t for m in rows_of(replies, "730") for t in m.params[1].split(",")]
    assert sorted(t.split("!")[0] for t in states) == sorted(online)
    assert all("@127.0.0.1" in t for t in states)
    assert sorted(t for m in rows_of(replies, "731") for t in m.params[1].split(",")) == sorted(offline)


async def test_chathistory_latest_at_its_limit_of_long_messages_arrives_whole(network, opened) -> None:
    asker = await network.client(opened, "#hist", caps=HISTORY_CAPS)
    tokens = {t.partition("=")[0]: t.partition("=")[2] for m in asker.received if m.command == "005"
              for t in m.params[1:-1]}  # fmt: skip
    assert tokens["CHATHISTORY"] == "100"
    replies, lines = await answer(asker, "CHATHISTORY LATEST #hist * 100")
    assert size(lines) > SENDQ // 2, size(lines)
    opening, *inside, closing = replies
    assert opening.command == "BATCH" and opening.params[1:] == ["chathistory", "#hist"], lines[:1]
    assert closing.command == "BATCH" and closing.params == ["-" + opening.params[0][1:]], lines[-1:]
    assert [m.params for m in inside] == [["#hist", text] for text in network.history]
    assert all(m.tags.get("batch") == opening.params[0][1:] and "msgid" in m.tags for m in inside)


async def test_help_and_help_on_every_command_at_once_arrive_whole_and_in_order(network, opened) -> None:
    asker = await network.client(opened)
    index, lines = await answer(asker, "HELP")
    assert index[0].command == "704" and index[-1].command == "706", lines
    assert all(len(line.encode()) + 2 <= 512 for line in lines)
    words = [w for m in index if m.command == "705" for w in m.params[-1].split(" ")]
    commands = sorted(w for w in words if w.isupper() and w.isalpha() and len(w) > 1)
    assert {"PRIVMSG", "LIST", "WHO", "MONITOR", "CHATHISTORY"} <= set(commands), commands
    replies, lines = await answer(asker, "\r\n".join(f"HELP {c}" for c in commands))
    starts = [m.params[1] for m in replies if m.command == "704"]
    ends = [m.params[1] for m in replies if m.command == "706"]
    refused = [m.params[1] for m in replies if m.command == "524"]
    assert refused == [], refused
    assert [s.upper() for s in starts] == commands and [e.upper() for e in ends] == commands
    assert {m.command for m in replies} == {"704", "705", "706"}
    # each answer whole before the next begins
    order = [m.command for m in replies if m.command != "705"]
    assert order == ["704", "706"] * len(commands)


# -- a slow reader ---------------------------------------------------------------------------------

SLOW_QUERIES = [
    pytest.param("LIST", "323", (), "", True, id="list"),
    pytest.param("LIST #room-1*,#room-2*", "323", (), "", True, id="list-mask"),
    pytest.param("WHO #big", "315", (), "", True, id="who"),
    pytest.param("NAMES #big", "366", (), "multi-prefix", False, id="names"),
    pytest.param("WHOIS wide", "318", (), "", False, id="whois"),
    pytest.param("MODE #bans100 +b", "368", ("#bans100",), "", False, id="banlist"),
    pytest.param("CHATHISTORY LATEST #hist * 100", "BATCH", ("#hist",), HISTORY_CAPS, False, id="chathistory"),
]


@pytest.mark.parametrize(("query", "end", "channels", "caps", "paced"), SLOW_QUERIES)
async def test_a_slow_reader_gets_the_big_answer_whole_and_others_talk_meanwhile(
    network, opened, query, end, channels, caps, paced
) -> None:
    """The asker reads a little, pauses, reads on (its socket's buffer is 4 KiB): it gets
    the whole answer, in order, with its end, and stays. A message said in a channel it
    is in after it asked reaches another member before the asker has read the answer;
    for a paced answer it reaches the asker before the end too."""
    fast = await network.client(opened, *channels, caps=caps)
    talker = await network.client(opened, "#busy")
    listener = await network.client(opened, "#busy")
    asker = await network.client(opened, "#busy", *channels, caps=caps, slow=True)
    await listener.expect("JOIN", "#busy")
    await sync(fast)  # the joins it saw
    expected, expected_lines = await answer(fast, query)  # the same answer, to a fast reader
    assert size(expected_lines) > 20000  # past the asker's socket and read buffers
    if paced:  # and past what its buffers, the kernel's and half the sendq hold together
        assert size(expected_lines) > 2 * (SENDQ + ROOM), size(expected_lines)

    start = len(asker.received)
    asker.send(f"{query}\r\nPING after-it")
    first = await asker.read_message(SLOW)
    assert first is not None and first.command == expected[0].command, asker.raw[-2:]
    talker.send("PRIVMSG #busy :while the slow one reads")
    assert (await listener.expect("PRIVMSG", "#busy")).params[1] == "while the slow one reads"
    assert len(asker.received) == start + 1  # it has read one line of the answer
    await read_on(asker, is_pong("after-it"), slow=True)
    got = asker.received[start:-1]
    said = [i for i, m in enumerate(got) if m.command == "PRIVMSG" and m.params[0] == "#busy"]
    if paced:  # "messages from others arrive between its lines": before its end
        assert len(said) == 1 and said[0] < len(got) - 1, "the message came only after the whole paced answer"
        assert got[said[0]].params[1] == "while the slow one reads"
        answered = got[: said[0]] + got[said[0] + 1 :]
    else:  # written whole in the pass that asked (the PONG too): the message follows it
        assert said == []
        answered = got
        heard = await asker.read_message(SLOW)
        assert heard is not None and heard.command == "PRIVMSG", asker.raw[-2:]
        assert heard.params == ["#busy", "while the slow one reads"]
    last = max(i for i, m in enumerate(answered) if m.command == end)
    assert last == len(answered) - 1, [m.command for m in answered[-3:]]
    strip = (lambda m: (m.command, m.params[1:])) if end != "BATCH" else (lambda m: (m.command, m.params[1:2]))
    assert [strip(m) for m in answered] == [strip(m) for m in expected]
