"""An independent IRC implementation talks to our server: jaraco's `irc` library from PyPI.

Our LineClient shares the server's parser; the `irc` library does not, so it catches
replies that only a home-made client would accept. Its asyncio flavour runs in the
test's own event loop, next to the server and a raw LineClient.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

pytest.importorskip("irc")

from irc.client import Event  # noqa: E402
from irc.client_aio import AioConnection, AioReactor  # noqa: E402

from tests.e2e_caps.support import capped  # noqa: E402
from tests.helpers import TIMEOUT, connected, sync  # noqa: E402

EVENTS = (
    "welcome", "featurelist", "endofmotd", "join", "namreply", "endofnames", "pubmsg",
    "privmsg", "action", "pubnotice", "privnotice", "nick", "part", "quit", "error", "disconnect", "nosuchnick",
    "kick", "mode", "silence", "271", "272", "511",  # SILENCE: the library has no names for its numerics
)


class Recorder:
    """Queues the library's events so a test can wait for the one it expects."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.seen: list[Event] = []

    def __call__(self, connection: AioConnection, event: Event) -> None:
        self.queue.put_nowait(event)

    async def next(self, kind: str, where: Callable[[Event], bool] = lambda e: True) -> Event:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while True:
            remaining = deadline - loop.time()
            try:
                event = await asyncio.wait_for(self.queue.get(), max(remaining, 0.001))
            except TimeoutError:
                recent = [(e.type, e.target, e.arguments) for e in self.seen[-10:]]
                raise AssertionError(f"no {kind} event; recent: {recent}") from None
            self.seen.append(event)
            if event.type == kind and where(event):
                return event


@pytest.fixture
async def library_client(server):
    """An `irc` library connection to the test server, registered as `libbot`."""
    reactor = AioReactor(loop=asyncio.get_running_loop())
    recorder = Recorder()
    for kind in EVENTS:
        reactor.add_global_handler(kind, recorder)
    connection = reactor.server()
    host, port = server.irc_address()
    await connection.connect(host, port, "libbot", username="lib", ircname="The Library")
    yield connection, recorder
    if connection.is_connected():
        connection.disconnect("test over")


async def test_library_registers_and_reads_isupport(library_client) -> None:
    connection, events = library_client
    welcome = await events.next("welcome")
    assert welcome.target == "libbot"
    assert welcome.arguments == ["Welcome to the hubbub IRC Network libbot!~lib@127.0.0.1"]
    await events.next("endofmotd")
    assert connection.get_nickname() == "libbot"
    assert connection.get_server_name() == "hubbub.local"
    features = connection.features
    assert features.network == "hubbub"
    assert features.casemapping == "ascii"
    assert list(features.chantypes) == ["#"]
    assert features.nicklen == 30
    assert dict(features.prefix) == {"~": "q", "&": "a", "@": "o", "%": "h", "+": "v"}
    assert features.chanmodes == ["beI", "k", "fjl", "CiKMmnRsTt"]
    assert features.targmax["PRIVMSG"] == 4


async def test_library_and_raw_client_chat_both_ways(server, clients, library_client) -> None:
    connection, events = library_client
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    await events.next("endofmotd")

    connection.join("#room")
    joined = await events.next("join", lambda e: e.source.nick == "libbot")
    assert joined.target == "#room"
    names = await events.next("namreply")
    assert names.arguments == ["=", "#room", "@alice libbot"]
    await events.next("endofnames")
    seen = await alice.expect("JOIN")
    assert seen.source == "libbot!~lib@127.0.0.1"

    connection.privmsg("#room", "hello from the library")
    msg = await alice.expect("PRIVMSG")
    assert msg.source == "libbot!~lib@127.0.0.1"
    assert msg.params == ["#room", "hello from the library"]

    alice.send("PRIVMSG #room :hello, library: nice to meet you")
    pub = await events.next("pubmsg")
    assert pub.source == "alice!~u@127.0.0.1" and pub.source.nick == "alice"
    assert pub.target == "#room"
    assert pub.arguments == ["hello, library: nice to meet you"]

    alice.send("PRIVMSG LIBBOT :just between us")
    private = await events.next("privmsg")
    assert private.source.nick == "alice"
    assert private.target == "libbot"
    assert private.arguments == ["just between us"]

    connection.privmsg("alice", "private reply")
    msg = await alice.expect("PRIVMSG")
    assert msg.params == ["alice", "private reply"]

    alice.send("PRIVMSG #room :\x01ACTION waves\x01")
    action = await events.next("action")
    assert action.source.nick == "alice" and action.arguments == ["waves"]

    connection.privmsg("nobody", "anyone?")
    missing = await events.next("nosuchnick")
    assert missing.arguments == ["nobody", "No such nick/channel"]


async def test_library_reads_a_multiline_notice_as_notices(server, clients, library_client) -> None:
    """The library negotiates no capability: a draft/multiline batch of NOTICE lines
    reaches it as NOTICE lines (pubnotice, privnotice), blank ones left out, never as a
    PRIVMSG."""
    connection, events = library_client
    await events.next("endofmotd")
    alice = await capped(server, "alice", "batch", "draft/multiline", channels=("#room",))
    clients.append(alice)
    connection.join("#room")
    await events.next("endofnames")
    await alice.expect("JOIN")
    alice.send("BATCH +n draft/multiline #room")
    for line in ("@batch=n NOTICE #room :first", "@batch=n NOTICE #room :", "@batch=n NOTICE #room :second ",
                 "@batch=n;draft/multiline-concat NOTICE #room :part"):  # fmt: skip
        alice.send(line)
    alice.send("BATCH -n")
    alice.send("BATCH +p draft/multiline libbot")
    alice.send("@batch=p NOTICE libbot :just between us")
    alice.send("@batch=p NOTICE libbot :two lines")
    alice.send("BATCH -p")
    alice.send("PRIVMSG #room :after the notices")
    await events.next("pubmsg")
    from_alice = [(e.type, e.target, e.arguments) for e in events.seen if e.source and e.source.nick == "alice"]
    assert from_alice == [
        ("pubnotice", "#room", ["first"]), ("pubnotice", "#room", ["second "]), ("pubnotice", "#room", ["part"]),
        ("privnotice", "libbot", ["just between us"]), ("privnotice", "libbot", ["two lines"]),
        ("pubmsg", "#room", ["after the notices"]),
    ]  # fmt: skip


async def test_library_sees_nick_part_and_quit_of_a_raw_client(server, clients, library_client) -> None:
    connection, events = library_client
    await events.next("endofmotd")
    connection.join("#room")
    await events.next("endofnames")
    bob = await connected(server, "bob", "#room", "#other")
    clients.append(bob)
    await events.next("join", lambda e: e.source.nick == "bob")

    bob.send("NICK robert")
    renamed = await events.next("nick")
    assert renamed.source.nick == "bob" and renamed.target == "robert"

    bob.send("PART #room :moving on")
    part = await events.next("part")
    assert part.source.nick == "robert" and part.target == "#room"
    assert part.arguments == ["moving on"]

    bob.send("JOIN #room")
    await events.next("join", lambda e: e.source.nick == "robert")
    bob.send("QUIT :good night")
    quit_event = await events.next("quit")
    assert quit_event.source.nick == "robert"
    assert quit_event.arguments == ["Quit: good night"]


async def test_library_changes_nick_and_quits(server, clients, library_client) -> None:
    connection, events = library_client
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    await events.next("endofmotd")
    connection.join("#room")
    await events.next("endofnames")
    await alice.expect("JOIN")

    connection.nick("libbot2")
    own = await events.next("nick")
    assert own.source.nick == "libbot" and own.target == "libbot2"
    assert connection.get_nickname() == "libbot2"
    seen = await alice.expect("NICK")
    assert seen.source == "libbot!~lib@127.0.0.1" and seen.params == ["libbot2"]

    connection.quit("library leaving")
    error = await events.next("error")
    assert error.target == "Closing Link: 127.0.0.1 (Quit: library leaving)"
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.source == "libbot2!~lib@127.0.0.1"
    assert quit_msg.params == ["Quit: library leaving"]


async def test_a_library_bot_that_floods_a_plus_f_channel_is_kicked(server, library_client) -> None:
    connection, events = library_client
    await events.next("endofmotd")
    op = await connected(server, "op", "#quiet")
    connection.join("#quiet")
    await events.next("endofnames")
    op.send("MODE #quiet +f 2:60")
    mode = await events.next("mode")  # the library knows +f takes a parameter (CHANMODES)
    assert mode.target == "#quiet" and mode.arguments == ["+f", "2:60"]
    for i in range(4):
        connection.privmsg("#quiet", f"spam {i}")
    kick = await events.next("kick")
    assert kick.source == "hubbub.local" and kick.target == "#quiet"
    assert kick.arguments == ["libbot", "Channel flood triggered (2 lines in 60 seconds)"]
    said = [m.params[-1] for m in await op.collect_until("KICK") if m.command == "PRIVMSG"]
    assert said == ["spam 0", "spam 1"]
    await op.close()


async def test_a_library_user_silences_a_harasser_and_still_hears_others(server, clients, library_client) -> None:
    """SILENCE from an independent client: its replies read as ircu's (271 <me> <owner>
    <mask>, 272), the ISUPPORT token as a number, and the silenced never get through."""
    connection, events = library_client
    mallory = await connected(server, "mallory")
    carol = await connected(server, "carol")
    clients.extend([mallory, carol])
    await events.next("endofmotd")
    assert connection.features.silence == 32

    connection.send_raw("SILENCE +Mallory")
    added = await events.next("silence")
    assert added.source == "libbot!~lib@127.0.0.1" and added.target == "+Mallory!*@*"
    connection.send_raw("SILENCE")
    row = await events.next("271")
    assert (row.target, row.arguments) == ("libbot", ["libbot", "Mallory!*@*"])
    assert (await events.next("272")).arguments == ["End of Silence List"]

    mallory.send("PRIVMSG libbot :you again")
    mallory.send("NOTICE libbot :and again")
    await sync(mallory)  # both handled: had they been delivered, they would come before carol's
    assert not [m for m in mallory.received if m.command[0] in "45"]  # told nothing
    carol.send("PRIVMSG libbot :hi, library")
    heard = await events.next("privmsg")
    assert heard.source.nick == "carol" and heard.arguments == ["hi, library"]
    assert not [e for e in events.seen if e.type in ("privmsg", "privnotice") and e.source.nick == "mallory"]
