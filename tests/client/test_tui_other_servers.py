"""`hubbub chat` against other IRC servers: InspIRCd 3 and ngIRCd 26, as Debian ships them.

docs/client.md promises that the terminal client speaks plain IRC "with the IRCv3
extensions the server offers, so they work with hubbub and with any other IRC server".
Each test drives `ChatApp` with Textual's pilot against a real InspIRCd or ngIRCd (the
benchmark's configurations from bench/configs/, started on free ports in a temporary
directory) and a second person on a plain socket, and reads what the window shows.

The two servers differ from hubbub where a client must not assume: the InspIRCd of
bench/configs loads no module, so it knows no CAP at all, ends its welcome with 422 (no
MOTD) and says CASEMAPPING=rfc1459, CHANTYPES=#; ngIRCd offers only `multi-prefix`,
sends a MOTD, and says CASEMAPPING=ascii, CHANTYPES=#&+, PREFIX=(qaohv)~&@%+. Neither
has echo-message, server-time, labeled-response or chathistory (a third server, InspIRCd
with its IRCv3 modules, has all but chathistory). ngIRCd serves only a few commands of a
client at a time, so every step waits for the server's answer, never for a while.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot

from hubbub.bench.serverproc import ServerProcess, ServerStartError
from hubbub.client import ClientConfig
from hubbub.client.state import Buffer, BufferKind
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import BufferList, ChatInput, MemberList, StatusBar, TopicBar
from hubbub.irc.message import Message, ParseError, parse
from tests.client.test_tui import SIZE, shown_text, static_text, submit, until

INSPIRCD = "/usr/sbin/inspircd"
NGIRCD = "/usr/sbin/ngircd"
CONFIGS = Path(__file__).resolve().parents[2] / "bench" / "configs"
OPER = ("root", "rootpw")  # an operator block added to both configurations (for KILL)
MOTD = "Benchmark server. Be kind."
WAIT = 15.0  # the longest wait for anything (InspIRCd registers on a once-a-second tick)

_serial = itertools.count(1)


# -- the servers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ircd:
    kind: str  # "inspircd" or "ngircd"
    host: str
    port: int
    ping_port: int | None = None  # InspIRCd: a second port whose clients are pinged every 2 s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(kind: str, directory: Path, write_config: Callable[[int, int], list[str]]) -> Iterator[Ircd]:
    """Start a server on free ports (a few tries: a port may be taken meanwhile); stop it after."""
    binary = INSPIRCD if kind == "inspircd" else NGIRCD
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} is not installed")
    (directory / "motd.txt").write_text(MOTD + "\n")
    last: Exception | None = None
    for _ in range(3):
        port, ping_port = _free_port(), _free_port()
        # under `timeout`, which ends the server should this process die without stopping
        # it (ngIRCd drops root for nobody, which clears the PDEATHSIG ServerProcess sets)
        process = ServerProcess(["timeout", "-k", "5", "900", *write_config(port, ping_port)],
                                connect=("127.0.0.1", port), log_path=str(directory / f"{kind}.out"))
        try:
            process.start(timeout=20)
        except ServerStartError as exc:
            process.stop()
            last = exc
            continue
        try:
            yield Ircd(kind, "127.0.0.1", port, ping_port if kind == "inspircd" else None)
        finally:
            process.stop()
        return
    raise AssertionError(f"{kind} did not start: {last}")


def _inspircd(directory: Path, modules: tuple[str, ...] = ()) -> Iterator[Ircd]:
    def config(port: int, ping_port: int) -> list[str]:
        text = (CONFIGS / "inspircd.conf.in").read_text()
        text = text.replace("@PORT@", str(port)).replace("@DIR@", str(directory))
        # the bench class for the bench port only; a second port whose class pings every 2 s
        text = text.replace('<connect name="bench"', f'<connect name="bench" port="{port}"')
        text += f"""
<bind address="127.0.0.1" port="{ping_port}" type="clients">
<connect name="quickping" port="{ping_port}" allow="*" timeout="60" pingfreq="2"
         threshold="100000000" commandrate="100000000" fakelag="no" localmax="100000"
         globalmax="100000" limit="100000" resolvehostnames="no" useident="no">
<class name="everything" commands="*" privs="*" usermodes="*" chanmodes="*" snomasks="*">
<type name="admin" classes="everything">
<oper name="{OPER[0]}" password="{OPER[1]}" host="*@*" type="admin">
"""
        text += "".join(f'<module name="{module}">\n' for module in modules)
        path = directory / "inspircd.conf"
        path.write_text(text)
        return [INSPIRCD, "--nofork", "--runasroot", f"--config={path}"]

    yield from _start("inspircd", directory, config)


@pytest.fixture(scope="module")
def inspircd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ircd]:
    """The benchmark's InspIRCd: no module, so no CAP at all."""
    yield from _inspircd(tmp_path_factory.mktemp("inspircd"))


# InspIRCd's IRCv3 modules: most of what the client asks for, but no chathistory
IRCV3_MODULES = ("cap", "ircv3", "ircv3_capnotify", "ircv3_echomessage", "ircv3_servertime", "ircv3_batch",
                 "ircv3_labeledresponse", "ircv3_msgid", "ircv3_ctctags", "namesx")


@pytest.fixture(scope="module")
def inspircd_ircv3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ircd]:
    yield from _inspircd(tmp_path_factory.mktemp("inspircd-ircv3"), IRCV3_MODULES)


@pytest.fixture(scope="module")
def ngircd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ircd]:
    directory = tmp_path_factory.mktemp("ngircd")

    def config(port: int, ping_port: int) -> list[str]:
        text = (CONFIGS / "ngircd.conf.in").read_text()
        text = text.replace("@PORT@", str(port)).replace("@DIR@", str(directory))
        text += f"\n[Operator]\n\tName = {OPER[0]}\n\tPassword = {OPER[1]}\n"
        path = directory / "ngircd.conf"
        path.write_text(text)
        return [NGIRCD, "--nodaemon", "--passive", "-f", str(path)]

    yield from _start("ngircd", directory, config)


@pytest.fixture(params=["inspircd", "ngircd"])
def ircd(request: pytest.FixtureRequest) -> Ircd:
    server: Ircd = request.getfixturevalue(request.param)
    return server


@dataclass(frozen=True)
class Names:
    """Nicks and a channel no other test of this server uses (servers are shared by a module)."""

    me: str
    peer: str
    channel: str


@pytest.fixture
def names() -> Names:
    n = next(_serial)
    return Names(f"ann{n}x", f"bob{n}x", f"#room{n}")


# -- a second person, on a plain socket ----------------------------------------------------------


class Peer:
    """Someone else on the server: a raw IRC connection that answers PINGs and keeps every line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nick: str) -> None:
        self.reader, self.writer, self.nick = reader, writer, nick
        self.lines: list[Message] = []
        self._seen = 0
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, ircd: Ircd, nick: str, *channels: str, port: int | None = None) -> Peer:
        reader, writer = await asyncio.open_connection(ircd.host, port or ircd.port)
        peer = cls(reader, writer, nick)
        peer.send(f"NICK {nick}")
        peer.send(f"USER {''.join(c for c in nick if c.isalnum())[:9]} 0 * :a peer")
        await peer.expect(lambda m: m.command in ("376", "422"))
        for channel in channels:
            await peer.join(channel)
        return peer

    async def _read(self) -> None:
        while True:
            data = await self.reader.readline()
            if not data:
                break
            try:
                message = parse(data.decode("utf-8", "replace").rstrip("\r\n"))
            except ParseError:
                continue
            if message.command == "PING":
                self.send(f"PONG :{message.param(0)}")
            self.lines.append(message)
            self._arrived.set()
        self._arrived.set()

    def send(self, line: str) -> None:
        self.writer.write(line.encode() + b"\r\n")

    async def expect(self, where: Callable[[Message], bool], what: str = "", timeout: float = WAIT) -> Message:
        """The next line (after those already expected) that matches."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while self._seen < len(self.lines):
                message = self.lines[self._seen]
                self._seen += 1
                if where(message):
                    return message
            if self._task.done():
                raise AssertionError(f"{self.nick}: connection closed waiting for {what}; "
                                     f"got {[m.to_line() for m in self.lines[-8:]]}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except TimeoutError:
                raise AssertionError(f"{self.nick}: no {what or 'match'} within {timeout}s; "
                                     f"got {[m.to_line() for m in self.lines[-8:]]}") from None

    async def command(self, command: str, *params: str, what: str = "") -> Message:
        return await self.expect(lambda m: m.command == command and m.params[: len(params)] == list(params),
                                 what or f"{command} {' '.join(params)}")

    async def join(self, channel: str) -> None:
        self.send(f"JOIN {channel}")
        await self.command("366", self.nick, channel)

    async def say(self, target: str, text: str) -> None:
        """PRIVMSG, then a PING round trip: the server has handled the message once it answers."""
        self.send(f"PRIVMSG {target} :{text}")
        await self.sync()

    async def sync(self) -> None:
        token = f"sync{next(_serial)}"
        self.send(f"PING :{token}")
        await self.expect(lambda m: m.command == "PONG" and m.params[-1] == token, f"PONG {token}")

    async def close(self) -> None:
        if not self._task.done():
            self.send("QUIT :done")
        self.writer.close()
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, OSError):
            pass


MakePeer = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def peers() -> AsyncIterator[MakePeer]:
    """`bob = await peers(ircd, "bob", "#room")`: connected, registered and in the channels."""
    made: list[Peer] = []

    async def make(ircd: Ircd, nick: str, *channels: str, port: int | None = None) -> Peer:
        peer = await Peer.connect(ircd, nick, *channels, port=port)
        made.append(peer)
        return peer

    yield make
    for peer in made:
        await peer.close()


# -- the window --------------------------------------------------------------------------------


def chat(ircd: Ircd, nick: str, *channels: str, **overrides: object) -> ChatApp:
    settings: dict[str, object] = {
        "host": ircd.host, "port": ircd.port, "nick": nick, "channels": channels,
        "reconnect_delay": 0.05, "reconnect_max_delay": 0.2, "connect_timeout": 5.0,
        "registration_timeout": WAIT,
    }
    settings.update(overrides)
    return ChatApp(ClientConfig(**settings))  # type: ignore[arg-type]


def texts(buffer: Buffer | None) -> list[str]:
    assert buffer is not None
    return [line.text for line in buffer.lines]


def find(app: ChatApp, name: str) -> Buffer:
    found = app.state.find(name)
    assert found is not None, f"no buffer {name}: {[b.name for b in app.state.buffers]}"
    return found


def has_line(app: ChatApp, name: str | None, text: str) -> Callable[[], bool]:
    """A line containing `text` in buffer `name` (None: the server buffer)."""
    def check() -> bool:
        found = app.state.server if name is None else app.state.find(name)
        return found is not None and any(text in line.text for line in found.lines)
    return check


def in_channel(app: ChatApp, channel: str, members: int = 1) -> Callable[[], bool]:
    def check() -> bool:
        found = app.state.find(channel)
        return found is not None and found.joined and len(found.members) >= members
    return check


def registered(app: ChatApp) -> Callable[[], bool]:
    return lambda: app.client.ready and app.state.status == "connected"


def members_shown(app: ChatApp) -> list[str]:
    return static_text(app.query_one(MemberList)).split()


NO_MOTD = "Message of the day file is missing"  # InspIRCd's 422, shown as an error (a bug of its own, below)


def trouble(app: ChatApp) -> list[str]:
    """What a person should not see on a server that lacks our favourite extensions:
    errors, internal errors, raw protocol lines, unknown commands."""
    bad = []
    for buffer in app.state.buffers:
        for line in buffer.lines:
            if ((line.kind == "error" and NO_MOTD not in line.text) or line.text.startswith(":")
                    or "Internal error" in line.text or "Unknown command" in line.text
                    or "CHATHISTORY" in line.text):
                bad.append(f"{buffer.name}: {line.kind} {line.text}")
    return bad


async def start(pilot: Pilot, app: ChatApp, *channels: str) -> None:
    await until(pilot, registered(app), "registration", WAIT)
    for channel in channels:
        await until(pilot, in_channel(app, channel), f"{channel} joined", WAIT)


# -- registration, the welcome and the MOTD ---------------------------------------------------


async def test_registers_and_shows_the_welcome_sensibly(ircd: Ircd, names: Names) -> None:
    app = chat(ircd, names.me)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app)
        server = app.state.server
        # the end of the welcome: ngIRCd's MOTD, InspIRCd's "no MOTD"
        ending = MOTD if ircd.kind == "ngircd" else NO_MOTD
        await until(pilot, has_line(app, None, ending), "the MOTD (or its absence)")
        shown = shown_text(app)
        assert ending in shown
        assert f"You are {names.me}." in shown
        assert any(text.startswith("Welcome to the") and names.me in text for text in texts(server))
        assert server.name == "bench"  # NETWORK=bench names the server buffer
        assert "Connected to bench" in static_text(app.query_one(StatusBar))
        assert names.me in static_text(app.query_one(StatusBar))
        # no 004/005 dumps, no raw lines, no complaints about CAP or anything else
        assert not any("CHANTYPES" in text or "PREFIX=" in text for text in texts(server))
        assert trouble(app) == []


@pytest.mark.parametrize("length", ["short", "nicklen"])
async def test_a_taken_nick_is_replaced_while_registering(ircd: Ircd, names: Names, peers: MakePeer,
                                                          length: str) -> None:
    """433: `nick_` instead. At NICKLEN (30 on both), `nick_` is refused too (432), and a
    shorter one with a digit follows (docs/client.md: never longer than ours)."""
    nick = names.me if length == "short" else (names.me + "n" * 30)[:30]
    await peers(ircd, nick)  # someone has our nick already: 433
    app = chat(ircd, nick)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app)
        got = app.state.nick
        assert got == app.client.nick
        if length == "short":
            assert got == nick + "_"
        else:
            assert len(got) <= 30 and got != nick and got[:-1] == nick[: len(got) - 1]
        assert static_text(app.query_one(StatusBar)).startswith(got + " ")
        # registered is the state's; the view writes its lines on its next refresh
        await until(pilot, lambda: f"You are {got}." in shown_text(app), "the welcome shown", WAIT)
        assert any("already in use" in text for text in texts(app.state.server))
        # and the server agrees: the new nick is ours
        bob = await peers(ircd, names.peer)
        bob.send(f"WHOIS {got}")
        await bob.command("311", names.peer, got)


# -- a channel: NAMES, talking, /me, /msg -----------------------------------------------------------


async def test_join_names_talk_and_act_without_echo_message(ircd: Ircd, names: Names, peers: MakePeer) -> None:
    bob = await peers(ircd, names.peer, names.channel)  # bob made the channel: he is its operator
    app = chat(ircd, names.me, names.channel)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        await until(pilot, in_channel(app, names.channel, 2), "NAMES: bob and me")
        assert "echo-message" not in app.client.caps
        assert members_shown(app) == [f"@{names.peer}", names.me]
        assert f"{names.channel} · 2 members" in static_text(app.query_one(StatusBar))
        await bob.command("JOIN", names.channel)

        await bob.say(names.channel, "hello from a plain client")
        await until(pilot, has_line(app, names.channel, "hello from a plain client"), "bob's line")

        await submit(pilot, "hi bob, nice server")
        heard = await bob.command("PRIVMSG", names.channel)
        assert heard.params[1] == "hi bob, nice server"
        assert heard.source is not None and heard.source.startswith(names.me + "!")
        await submit(pilot, "/me waves")
        action = await bob.command("PRIVMSG", names.channel)
        assert action.params[1] == "\x01ACTION waves\x01"
        await bob.say(names.channel, "and back")  # after it, ours have all been shown if they will
        await until(pilot, has_line(app, names.channel, "and back"), "bob's second line")

        shown = shown_text(app)
        assert shown.count("hi bob, nice server") == 1  # no echo-message: shown once, by the client
        assert shown.count(f"{names.me} waves") == 1
        channel = find(app, names.channel)
        own = [line for line in channel.lines if line.own]
        assert [(line.kind, line.text) for line in own] == [("message", "hi bob, nice server"),
                                                            ("action", "waves")]
        # PageUp at the top where the server keeps no history: nothing asked, nothing shown
        await pilot.press("pageup", "pageup")
        assert trouble(app) == []


async def test_msg_to_someone_and_their_answer(ircd: Ircd, names: Names, peers: MakePeer) -> None:
    bob = await peers(ircd, names.peer)
    bob.send("AWAY :at lunch")
    await bob.command("306")
    app = chat(ircd, names.me, names.channel)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        await submit(pilot, f"/msg {names.peer} psst")
        await bob.command("PRIVMSG", names.peer)
        await until(pilot, has_line(app, names.channel, "is away"), "the 301")
        bob.send("AWAY")
        await bob.command("305")
        await submit(pilot, f"/msg {names.peer} psst, a secret")
        heard = await bob.command("PRIVMSG", names.peer)
        assert heard.params[1] == "psst, a secret"
        assert app.state.current.name == names.channel  # /msg does not switch buffers
        query = find(app, names.peer)
        assert query.kind is BufferKind.QUERY
        assert texts(query) == ["psst", "psst, a secret"]  # each shown once, in the conversation

        await bob.say(names.me, "what secret?")
        await until(pilot, has_line(app, names.peer, "what secret?"), "bob's answer")
        assert query.unread == 1 and query.mentioned
        assert texts(query) == ["psst", "psst, a secret", "what secret?"]
        # the server's 301 to the first, where it was typed; none once bob is back
        away = [text for b in app.state.buffers for text in texts(b) if "is away" in text]
        assert away == [f"{names.peer} is away: at lunch"]
        assert len([b for b in app.state.buffers if b.kind is BufferKind.QUERY]) == 1
        assert f"{names.peer} 1!" in static_text(app.query_one(BufferList))
        assert trouble(app) == []


# -- /nick, /topic, /part, /quit -----------------------------------------------------------------


async def test_nick_change_and_a_taken_one(ircd: Ircd, names: Names, peers: MakePeer) -> None:
    bob = await peers(ircd, names.peer, names.channel)
    app = chat(ircd, names.me, names.channel)
    new = names.me + "z"
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        await submit(pilot, f"/nick {new}")
        changed = await bob.command("NICK")
        assert changed.params[0] == new and changed.source is not None and changed.source.startswith(names.me + "!")
        await until(pilot, lambda: app.state.nick == new, "the new nick")
        assert static_text(app.query_one(StatusBar)).startswith(new + " ")
        assert f"You are now known as {new}" in shown_text(app)

        await submit(pilot, f"/nick {names.peer}")  # taken: 433, and we keep ours
        await until(pilot, has_line(app, names.channel, "already in use"), "the 433")
        line = next(line for line in find(app, names.channel).lines if "already in use" in line.text)
        assert line.kind == "error" and names.peer in line.text
        assert app.state.nick == app.client.nick == new
        await submit(pilot, "still me")
        heard = await bob.command("PRIVMSG", names.channel)
        assert heard.source is not None and heard.source.startswith(new + "!")


async def test_topic_set_and_shown(ircd: Ircd, names: Names, peers: MakePeer) -> None:
    bob = await peers(ircd, names.peer)
    app = chat(ircd, names.me, names.channel)  # we make the channel: we may set its topic
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        await bob.join(names.channel)
        await submit(pilot, "/topic plans for today")
        topic = await bob.command("TOPIC", names.channel)
        assert topic.params[1] == "plans for today"
        await until(pilot, lambda: find(app, names.channel).topic == "plans for today", "the topic")
        assert "plans for today" in static_text(app.query_one(TopicBar))
        assert f"{names.me} changed the topic to: plans for today" in shown_text(app)

        await submit(pilot, "/topic")  # 332 and 333
        await until(pilot, has_line(app, names.channel, "Topic set by"), "the 333")
        channel = find(app, names.channel)
        assert "Topic: plans for today" in texts(channel)
        assert any(text.startswith(f"Topic set by {names.me} on ") for text in texts(channel))
        assert trouble(app) == []


async def test_part_then_quit_with_a_message(ircd: Ircd, names: Names, peers: MakePeer) -> None:
    other = names.channel + "b"
    bob = await peers(ircd, names.peer, names.channel, other)
    app = chat(ircd, names.me, names.channel, other)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel, other)
        app.action_select_buffer(app.state.buffers.index(find(app, names.channel)))
        await submit(pilot, "/part see you later")
        part = await bob.command("PART", names.channel)
        assert part.params[-1] == "see you later"
        await until(pilot, lambda: not find(app, names.channel).joined, "left")
        assert f"You left {names.channel} (see you later)" in shown_text(app)
        assert f"({names.channel})" in static_text(app.query_one(BufferList))
        assert find(app, other).joined

        await submit(pilot, "/quit off to bed")
        quit_ = await bob.command("QUIT")
        assert quit_.source is not None and quit_.source.startswith(names.me + "!")
        assert "off to bed" in quit_.params[0]
        await until(pilot, lambda: app.return_code is not None, "the app to end", WAIT)
    assert app.return_code == 0


# -- a kick, a ban, a kill -------------------------------------------------------------------------


async def test_kick_and_ban_are_shown(ircd: Ircd, names: Names, peers: MakePeer) -> None:
    bob = await peers(ircd, names.peer, names.channel)
    app = chat(ircd, names.me, names.channel)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        await bob.command("JOIN", names.channel)
        bob.send(f"MODE {names.channel} +b {names.me}!*@*")
        await bob.command("MODE", names.channel, "+b")
        bob.send(f"KICK {names.channel} {names.me} :behave")
        await bob.command("KICK", names.channel, names.me)
        await until(pilot, lambda: not find(app, names.channel).joined, "kicked out")
        channel = find(app, names.channel)
        assert f"{names.peer} kicked you from {names.channel} (behave)" in texts(channel)
        assert f"{names.peer} banned {names.me}!*@* (+b {names.me}!*@*)" in texts(channel)
        assert channel.members == ()

        await submit(pilot, f"/join {names.channel}")  # banned: 474
        await until(pilot, has_line(app, names.channel, "annot join"), "the 474")
        line = next(line for line in channel.lines if "annot join" in line.text)
        assert line.kind == "error"
        assert not channel.joined


async def kill(ircd: Ircd, names: Names, peers: MakePeer, *channels: str) -> tuple[ChatApp, Peer]:
    bob = await peers(ircd, names.peer, *channels)
    bob.send(f"OPER {OPER[0]} {OPER[1]}")
    await bob.command("381")
    return chat(ircd, names.me, *channels), bob


async def test_kill_is_shown_and_the_client_comes_back(ircd: Ircd, names: Names, peers: MakePeer) -> None:
    app, bob = await kill(ircd, names, peers, names.channel)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        await bob.command("JOIN", names.channel)
        bob.send(f"MODE {names.channel} +k sesame")  # a key now: the way back in needs it
        await bob.command("MODE", names.channel, "+k")
        await until(pilot, has_line(app, names.channel, "+k"), "the key set")
        bob.send(f"KILL {names.me} :spamming the channel")
        await until(pilot, lambda: app.state.status != "connected", "the disconnection")
        await until(pilot, has_line(app, None, "spamming the channel"), "the kill's reason")
        assert any(line.kind == "error" and "spamming the channel" in line.text and names.peer in line.text
                   for line in app.state.server.lines)
        assert any(text.startswith("Disconnected: ") and "spamming the channel" in text
                   for text in texts(find(app, names.channel)))
        # ... and back, in the channel again (with its key), as after any disconnection
        await bob.expect(lambda m: m.command == "JOIN" and m.source is not None
                         and m.source.startswith(names.me + "!"), "the rejoin")
        await until(pilot, in_channel(app, names.channel, 2), "back in the channel")
        assert app.state.nick == names.me


async def test_inspircd_kill_is_shown_in_words_not_as_a_raw_line(inspircd: Ircd, names: Names,
                                                                 peers: MakePeer) -> None:
    app, bob = await kill(inspircd, names, peers)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app)
        bob.send(f"KILL {names.me} :spamming the channel")
        await until(pilot, lambda: app.state.status != "connected", "the disconnection")
        await until(pilot, has_line(app, None, "Disconnected: "), "the disconnection's line")
        server = texts(app.state.server)
        assert any("spamming the channel" in text and names.peer in text for text in server)
        assert not any(text.startswith(":") or " KILL " in text for text in server), server


async def test_inspircd_kline_is_shown_and_retried(inspircd: Ircd, names: Names, peers: MakePeer) -> None:
    """A server ban: the reason is shown, and the client keeps trying (later) as it says."""
    app, bob = await kill(inspircd, names, peers)
    app.client.config.reconnect_delay = 30.0  # one attempt within the test
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app)
        bob.send(f"KLINE {names.me}@127.0.0.1 1h :no spam here")
        await until(pilot, lambda: app.state.status == "disconnected", "the disconnection")
        server = app.state.server
        assert any("banned" in line.text and line.kind == "error" for line in server.lines)
        assert any("no spam here" in line.text and line.kind == "error" for line in server.lines)
        status = static_text(app.query_one(StatusBar))
        assert status.startswith("Not connected: ") and "retrying in " in status and "no spam here" in status


async def test_inspircd_no_motd_is_not_an_error(inspircd: Ircd, names: Names) -> None:
    app = chat(inspircd, names.me)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app)
        await until(pilot, has_line(app, None, NO_MOTD), "the 422")
        line = next(line for line in app.state.server.lines if "Message of the day" in line.text)
        assert line.kind == "info"


async def test_inspircd_statusmsg_to_operators_shows_in_the_channel(inspircd: Ircd, names: Names,
                                                                  peers: MakePeer) -> None:
    """STATUSMSG=@+: `PRIVMSG @#room` reaches the channel's operators, in the channel."""
    bob = await peers(inspircd, names.peer)
    app = chat(inspircd, names.me, names.channel)  # we make the channel: we are its operator
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        await bob.join(names.channel)
        await bob.say(f"@{names.channel}", "for the operators")
        await until(pilot, lambda: any("for the operators" in t for b in app.state.buffers for t in texts(b)),
                    "the line")
        assert "for the operators" in texts(find(app, names.channel))[-1]
        assert app.state.find(names.peer) is None


# -- PING ---------------------------------------------------------------------------------------


async def test_stays_connected_through_pings_both_ways(inspircd: Ircd, names: Names, peers: MakePeer) -> None:
    """InspIRCd pings the clients of its second port every 2 s and drops those that do not
    answer within 2 s; our client, set to ping after 1 s of silence, pings it too."""
    assert inspircd.ping_port is not None
    app = chat(inspircd, names.me, names.channel, port=inspircd.ping_port, ping_interval=1.0, ping_timeout=3.0)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        bob = await peers(inspircd, names.peer, names.channel, port=inspircd.ping_port)
        # two of bob's PINGs: we have been connected for more than two ping intervals
        await bob.expect(lambda m: m.command == "PING", "a PING")
        await bob.expect(lambda m: m.command == "PING", "a second PING")
        bob.send(f"WHOIS {names.me}")
        await bob.command("311", names.peer, names.me)
        assert app.state.status == "connected"
        assert not any("Disconnected" in text or "timeout" in text.lower() for text in texts(app.state.server))
        await submit(pilot, "still here")
        heard = await bob.command("PRIVMSG", names.channel)
        assert heard.params[1] == "still here"


# -- ISUPPORT: PREFIX, CHANTYPES, CASEMAPPING -------------------------------------------------------


async def test_ngircd_prefix_with_five_ranks(ngircd: Ircd, names: Names, peers: MakePeer) -> None:
    """PREFIX=(qaohv)~&@%+: owners and half-operators rank as the server says; with
    multi-prefix, NAMES gives every prefix of a member and each is kept."""
    bob = await peers(ngircd, names.peer, names.channel)
    bob.send(f"OPER {OPER[0]} {OPER[1]}")  # OperCanUseMode: an operator may give any mode
    await bob.command("381")
    bob.send(f"MODE {names.channel} +v {names.peer}")
    await bob.command("MODE", names.channel, "+v")
    app = chat(ngircd, names.me, names.channel)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        assert "multi-prefix" in app.client.caps
        await until(pilot, in_channel(app, names.channel, 2), "NAMES")
        assert members_shown(app) == [f"@{names.peer}", names.me]  # NAMES said "@+bob"
        for change, shown in ((f"+h {names.me}", [f"@{names.peer}", f"%{names.me}"]),
                              (f"-o {names.peer}", [f"%{names.me}", f"+{names.peer}"]),  # still voiced
                              (f"+q {names.peer}", [f"~{names.peer}", f"%{names.me}"])):
            bob.send(f"MODE {names.channel} {change}")
            await bob.command("MODE", names.channel, change.split()[0])
            await until(pilot, lambda shown=shown: members_shown(app) == shown, f"after {change}: {shown}")
        await submit(pilot, "/names")
        assert f"In {names.channel} (2): ~{names.peer} %{names.me}" in shown_text(app)
        assert f"{names.peer} made {names.peer} founder (+q {names.peer})" in shown_text(app)
        assert trouble(app) == []


@pytest.mark.parametrize("channel", ["&", "+"], ids=["ampersand", "plus"])
async def test_ngircd_messages_in_ampersand_and_plus_channels(ngircd: Ircd, names: Names, peers: MakePeer,
                                                              channel: str) -> None:
    name = channel + names.channel[1:]
    bob = await peers(ngircd, names.peer)
    app = chat(ngircd, names.me, name)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, name)
        await bob.join(name)
        await until(pilot, in_channel(app, name, 2), "bob in the channel")
        await submit(pilot, "mine, in the channel")
        heard = await bob.command("PRIVMSG", name)
        assert heard.params[1] == "mine, in the channel"
        await bob.say(name, "and mine too")
        await until(pilot, lambda: any("and mine too" in text for b in app.state.buffers for text in texts(b)),
                    "bob's line somewhere")
        assert app.state.find(names.peer) is None  # no private conversation with bob
        assert texts(find(app, name))[-2:] == ["mine, in the channel", "and mine too"]


async def test_ngircd_mode_changes_typed_without_the_channel(ngircd: Ircd, names: Names,
                                                            peers: MakePeer) -> None:
    """docs/client.md: `/mode [#channel|yournick] [+-modes [arguments]]`, "this one by default
    (`/mode +m`, `/mode +o bob`)"."""
    bob = await peers(ngircd, names.peer)
    app = chat(ngircd, names.me, names.channel)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        await bob.join(names.channel)
        await until(pilot, in_channel(app, names.channel, 2), "bob")
        channel = find(app, names.channel)
        for typed, done in ((f"/mode +v {names.peer}", f"{names.me} gave {names.peer} a voice (+v {names.peer})"),
                            ("/mode +m", f"{names.me} moderated {names.channel}: only people with a voice talk (+m)")):
            before = len(channel.lines)
            await submit(pilot, typed)
            # the server's answer: the change, or an error (in the channel or where typed)
            await until(pilot, lambda before=before: any(line.kind in ("mode", "error")
                                                         for line in list(channel.lines)[before:]), typed)
            answer = [line.text for line in list(channel.lines)[before:] if line.kind in ("mode", "error")]
            assert answer[0] == done
        assert members_shown(app) == [f"@{names.me}", f"+{names.peer}"]
        assert [m.params[1:] for m in bob.lines if m.command == "MODE"] == [["+v", names.peer], ["+m"]]


async def test_ngircd_ascii_casemapping_keeps_bracket_nicks_apart(ngircd: Ircd, names: Names,
                                                                 peers: MakePeer) -> None:
    """CASEMAPPING=ascii: `bo[b` and `bo{b` are two people (under rfc1459 they would be one)."""
    n = names.peer[3:]
    square, curly = await peers(ngircd, f"b[{n}]"), await peers(ngircd, f"b{{{n}}}")
    app = chat(ngircd, names.me)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app)
        assert app.client.isupport.casemapping == "ascii"
        await square.say(names.me, "from the square one")
        await curly.say(names.me, "from the curly one")
        await until(pilot, lambda: app.state.find(curly.nick) is not None
                    and bool(texts(app.state.find(curly.nick))), "the second conversation")
        queries = [b for b in app.state.buffers if b.kind is BufferKind.QUERY]
        assert sorted(b.name for b in queries) == sorted([square.nick, curly.nick])
        assert texts(find(app, square.nick)) == ["from the square one"]
        assert texts(find(app, curly.nick)) == ["from the curly one"]


async def test_inspircd_rfc1459_casemapping_makes_bracket_nicks_one(inspircd: Ircd, names: Names,
                                                                   peers: MakePeer) -> None:
    """CASEMAPPING=rfc1459: `/query B{N}X` talks with `b[N]x`, and the answer comes back to it."""
    n = names.peer[3:]
    bob = await peers(inspircd, f"b[{n}]x")
    app = chat(inspircd, names.me)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app)
        assert app.client.isupport.casemapping == "rfc1459"
        typed = f"B{{{n}}}X"
        await submit(pilot, f"/query {typed} hello there")
        heard = await bob.command("PRIVMSG")
        assert heard.params[1] == "hello there"
        await bob.say(names.me, "hi back")
        await until(pilot, has_line(app, typed, "hi back"), "the answer in the same conversation")
        queries = [b for b in app.state.buffers if b.kind is BufferKind.QUERY]
        assert len(queries) == 1 and texts(queries[0]) == ["hello there", "hi back"]
        assert app.state.current is queries[0]
        assert "hi back" in shown_text(app)


# -- long and pasted messages through another server's limits ---------------------------------------


async def test_long_line_and_paste_arrive_whole(ircd: Ircd, names: Names, peers: MakePeer) -> None:
    bob = await peers(ircd, names.peer, names.channel)
    app = chat(ircd, names.me, names.channel)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        words = [f"word{i:03d}" for i in range(150)]  # 1200 bytes: three lines after the server's prefix
        await submit(pilot, " ".join(words))
        got: list[str] = []
        while len(" ".join(got).split()) < len(words):
            message = await bob.command("PRIVMSG", names.channel)
            got.append(message.params[1])
        assert len(got) >= 3 and " ".join(got).split() == words
        # nine pasted lines: sent four at a time, the next four once the server answered a PING
        app.query_one(ChatInput).post_message(events.Paste("\n".join(f"pasted {i}" for i in range(9))))
        await pilot.pause()
        await pilot.press("enter")
        for i in range(9):
            message = await bob.command("PRIVMSG", names.channel)
            assert message.params[1] == f"pasted {i}"
        await bob.sync()
        await until(pilot, has_line(app, names.channel, "pasted 8"), "the paste on screen")
        own = [line.text for line in find(app, names.channel).lines if line.own]
        assert own[-9:] == [f"pasted {i}" for i in range(9)] and len(own) == len(got) + 9
        assert trouble(app) == []


# -- a server with IRCv3: InspIRCd's modules ---------------------------------------------------------


async def test_inspircd_with_echo_message_shows_own_lines_once(inspircd_ircv3: Ircd, names: Names,
                                                               peers: MakePeer) -> None:
    bob = await peers(inspircd_ircv3, names.peer, names.channel)
    app = chat(inspircd_ircv3, names.me, names.channel)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, app, names.channel)
        caps = app.client.caps
        assert {"echo-message", "server-time", "multi-prefix", "batch", "labeled-response"} <= caps
        assert not app.client.history_supported
        await submit(pilot, "with echo")
        await submit(pilot, "/me echoes")
        await submit(pilot, f"/msg {names.peer} privately")
        await bob.command("PRIVMSG", names.channel)
        await bob.command("PRIVMSG", names.channel)
        await bob.command("PRIVMSG", names.peer)
        await bob.say(names.channel, "after yours")
        await until(pilot, has_line(app, names.channel, "after yours"), "bob's line")
        await until(pilot, has_line(app, names.peer, "privately"), "the echo of the private one")
        channel = find(app, names.channel)
        assert [(line.kind, line.text) for line in channel.lines if line.own] == [
            ("message", "with echo"), ("action", "echoes")]
        assert all(line.msgid for line in channel.lines if line.own)  # the server's echo, with its msgid
        assert texts(find(app, names.peer)) == ["privately"]
        shown = shown_text(app)
        assert shown.count("with echo") == 1 and shown.count(f"{names.me} echoes") == 1
        assert trouble(app) == []
