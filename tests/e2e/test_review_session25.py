"""Review of session 25's changes (9241cb9..2b903cf), shown over real sockets.

A JOIN's NAMES of more than 16 lines is now paced (`Connection.paced` with a continuation): written
while less than half the sendq waits unsent, the rest of the JOIN's reply (the next
channel of `JOIN #a,#b`) once the client has read it, what others send held meanwhile.
These tests build one channel whose NAMES is several times half a small sendq and
check what a joiner reads: every line of its reply, in the order one node gives it
when nothing waits. A REHASH to a number past what the machine takes is refused as
the start is (the magnitude check).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from hubbub.app import Runtime
from hubbub.config import load
from hubbub.irc.message import Message
from hubbub.passwords import hash_password
from tests.helpers import LineClient, connected, start_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

SENDQ = 8192
ROOM = 8192  # limits.send_buffer: one loop pass may write SENDQ + ROOM bytes
NICKLEN = 100
MEMBERS = 200  # members of #big besides its owner, each with a nick of NICKLEN bytes
BATCH = 20  # members joining at once (each member's own output stays well under its sendq)
SLOW = 15.0
SETTINGS = [
    f"limits.sendq={SENDQ}",
    f"limits.send_buffer={ROOM}",
    f"limits.nicklen={NICKLEN}",
    "limits.metadata_max_value_bytes=200",  # a metadata reply must fit a line with such nicks
    "limits.max_clients_per_ip=0",
    "limits.max_clients=0",
    "limits.ping_interval=3600",
]
# a single node orders a client's own JOIN at once; a cluster's replica passes it as "applying"
CLUSTER = bool(os.environ.get("HUBBUB_TEST_CLUSTER"))

_names = itertools.count(1)


def member(i: int) -> str:
    return f"m{i:03d}" + "x" * (NICKLEN - 4)


class Sink(asyncio.Protocol):
    """A member that reads everything and keeps nothing."""

    def __init__(self) -> None:
        self.lost = False

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def big() -> AsyncIterator[Runtime]:
    """A server with #big: its owner and MEMBERS members of NICKLEN-byte nicks."""
    server = await start_server(*SETTINGS)
    host, port = server.irc_address()
    loop = asyncio.get_running_loop()
    sinks: list[tuple[asyncio.BaseTransport, Sink]] = []
    owner = await LineClient.connect_to(host, port)
    try:
        await owner.register("owner")
        await owner.join("#big")
        for start in range(0, MEMBERS, BATCH):
            for i in range(start, start + BATCH):
                transport, sink = await loop.create_connection(Sink, host, port)
                sinks.append((transport, sink))
                transport.write(f"NICK {member(i)}\r\nUSER u 0 * :R\r\nJOIN #big\r\n".encode())  # type: ignore[attr-defined]
            for _ in range(BATCH):  # this batch in before the next comes
                await owner.expect("JOIN", "#big", timeout=SLOW)
        assert not any(sink.lost for _, sink in sinks)
        yield server
    finally:
        await owner.close()
        await server.stop()
        for transport, _ in sinks:
            transport.close()


@pytest_asyncio.fixture(loop_scope="module")
async def opened() -> AsyncIterator[list[LineClient]]:
    clients: list[LineClient] = []
    yield clients
    for client in clients:
        await client.close()


async def asker(server: Runtime, opened: list[LineClient], caps: str = "") -> LineClient:
    client = await LineClient.connect(server)
    opened.append(client)
    if caps:
        client.send(f"CAP REQ :{caps}")
        client.send("CAP END")
    await client.register(f"asker{next(_names)}")
    if caps:
        assert [m.params[1:] for m in client.received if m.command == "CAP"] == [["ACK", caps]]
    client.received.clear()
    return client


async def answer(client: LineClient, line: str) -> list[Message]:
    """Send `line` and a PING at once (the server handles a client's lines in order):
    what came before the PONG. A close on the way fails, with the last lines read."""
    token = f"end-{next(_names)}"
    start = len(client.received)
    client.send(f"{line}\r\nPING {token}")
    while True:
        message = await client.read_message(SLOW)
        if message is None:
            raise AssertionError(f"closed during {line!r}: {client.raw[-3:]}")
        if message.command == "PONG" and message.params[-1:] == [token]:
            return client.received[start:-1]


def shown(messages: list[Message]) -> list[str]:
    """Each line as `COMMAND channel` (numerics: `353 channel`), for order assertions."""
    out = []
    for m in messages:
        if m.command == "353":
            out.append(f"353 {m.params[2]}")
        elif m.command in ("366", "332", "333"):
            out.append(f"{m.command} {m.params[1]}")
        elif m.command in ("JOIN", "MODE"):
            out.append(f"{m.command} {m.params[0]}")
        else:
            out.append(m.command)
    return out


def from_join(order: list[str], channel: str) -> list[str]:
    return order[order.index(f"JOIN {channel}") :]


def new_channel_reply(channel: str) -> list[str]:
    """What a JOIN creating `channel` gives its joiner, in order (no topic, one 353)."""
    return [f"JOIN {channel}", f"MODE {channel}", f"353 {channel}", f"366 {channel}"]


def assert_names_were_paced(replies: list[Message], client: LineClient) -> None:
    """The premise: #big's NAMES is more than 16 lines, and more than half the sendq
    (so `_pace` stops at least once to wait for the client to read)."""
    rows = [m for m in replies if m.command == "353" and m.params[2] == "#big"]
    assert len(rows) > 16, len(rows)
    size = sum(len(line.encode()) + 2 for line in client.raw if " 353 " in line and " #big :" in line)
    assert size > SENDQ // 2, size
    entries = [e for m in rows for e in m.params[3].split()]
    assert len(entries) >= MEMBERS + 2, len(entries)


# -- JOIN #big,#next: the next channel's reply after a paced NAMES ----------------------------------


async def test_the_next_channel_s_join_comes_before_its_names_after_a_paced_names(big, opened) -> None:
    """A client with draft/chathistory (the web client) gets no replay on joining, so
    nothing waits for the store between the channels: `JOIN #big,#next` must still give
    `JOIN #next` before the MODE, 353 and 366 of #next (clients create the buffer from
    the JOIN; a 353 for a channel it is not in is dropped or misfiled)."""
    client = await asker(big, opened, caps="draft/chathistory batch")
    channel = f"#next{next(_names)}"
    replies = await answer(client, f"JOIN #big,{channel}")
    assert_names_were_paced(replies, client)
    order = shown(replies)
    assert order.count(f"JOIN {channel}") == 1, order[-6:]
    assert order.index("366 #big") < order.index(f"JOIN {channel}"), order[-6:]
    assert from_join(order, channel) == new_channel_reply(channel), order[-6:]


async def test_with_a_replay_to_wait_for_the_next_channel_s_join_comes_first(big, opened) -> None:
    """The same JOIN from a client without draft/chathistory: the replay's store read
    (Context.Later) sets `passing`, and the order is right. What differs from the test
    above is only where the continuation runs."""
    client = await asker(big, opened)
    channel = f"#next{next(_names)}"
    replies = await answer(client, f"JOIN #big,{channel}")
    assert_names_were_paced(replies, client)
    order = shown(replies)
    assert from_join(order, channel) == new_channel_reply(channel), order[-6:]


# -- a labeled JOIN of a big channel ------------------------------------------------------------------


async def test_a_labeled_join_of_a_channel_bigger_than_the_sendq_arrives_whole(big, opened) -> None:
    """docs/channels.md: the NAMES a JOIN sends is paced like LIST, WHO and NAMES, and
    'with labeled-response, such a reply is one labeled-response batch, sent as it goes'.
    NAMES alone is (Connection.paced opens the batch); a labeled JOIN must be too."""
    client = await asker(big, opened, caps="labeled-response batch")
    assert (MEMBERS + 2) * (NICKLEN + 1) > SENDQ + ROOM  # the premise: more than one pass may write
    replies = await answer(client, "@label=bigjoin JOIN #big")
    opening = replies[0]
    assert opening.command == "BATCH" and opening.tags.get("label") == "bigjoin", client.raw[:2]
    entries = [e for m in replies if m.command == "353" for e in m.params[3].split()]
    assert len(entries) >= MEMBERS + 2, len(entries)
    assert [m.command for m in replies if m.command in ("JOIN", "366")] == ["JOIN", "366"]
    assert replies[-1].command == "BATCH" and replies[-1].params[0] == "-" + opening.params[0][1:]


async def test_a_labeled_names_of_the_same_channel_arrives_whole(big, opened) -> None:
    """The reference the labeled JOIN falls short of: NAMES alone, labeled, is paced
    inside its batch and arrives whole."""
    client = await asker(big, opened, caps="labeled-response batch")
    replies = await answer(client, "@label=bignames NAMES #big")
    assert replies[0].command == "BATCH" and replies[0].tags.get("label") == "bignames"
    entries = [e for m in replies if m.command == "353" for e in m.params[3].split()]
    assert len(entries) >= MEMBERS + 1, len(entries)
    assert replies[-2].command == "366" and replies[-1].command == "BATCH"


# -- REHASH and the magnitude check ---------------------------------------------------------------


async def test_a_rehash_to_a_sendq_past_what_the_machine_takes_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    """The start refuses `limits.sendq = 99999999999` (config.MAX_SETTING_INT); a REHASH
    reads the file through the same check: FAIL, the running sendq kept, nobody dropped."""
    path = tmp_path / "hubbub.toml"
    opers = f'[[opers]]\nname = "admin"\npassword_hash = "{hash_password("operpass")}"\n'
    path.write_text(opers, encoding="utf-8")
    overrides = ["listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false", "store.db=':memory:'"]
    server = Runtime(load(str(path), overrides), loader=lambda: load(str(path), overrides), config_name=str(path))
    await server.start()
    ircop = bob = None
    try:
        ircop = await connected(server, "ircop")
        bob = await connected(server, "bob", "#room")
        ircop.send("OPER admin operpass")
        await ircop.expect("381")
        before = server.config.limits.sendq
        path.write_text(opers + "[limits]\nsendq = 99999999999\n", encoding="utf-8")
        ircop.send("REHASH")
        failed = await ircop.expect("FAIL", "REHASH")
        assert "limits.sendq" in failed.params[-1] and "2147483647" in failed.params[-1], failed.params
        assert server.config.limits.sendq == before
        bob.send("PRIVMSG #room :still here")
        bob.send("PING :alive")
        await bob.expect("PONG")
    finally:
        for client in (ircop, bob):
            if client is not None:
                await client.close()
        await server.stop()
