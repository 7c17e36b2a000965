"""Big replies and slow readers, black-box over real sockets (TCP, TLS, WebSocket).

The sendq counts what the kernel does not take at once: one loop pass may produce up to
`limits.sendq` + room bytes for a client (room: `limits.send_buffer`, at most the sendq;
the sendq itself when send_buffer is 0), and a client that reads gets such a reply whole.
A client that does not read is still dropped (`SendQ exceeded`) once what the kernel
leaves passes its sendq, and nobody else waits for it; a reply bigger than sendq + room
in one pass drops the client cleanly (one ERROR, no cut line). REHASH of both limits
reaches the connections already there. (LIST and WHO are paced as the client reads
them, so they pass any sendq: test_paced_replies.py; the drops here are history batches.)

Every test checks its own premise (the reply really is bigger than the sendq, and within
what one pass may send) so that it cannot pass by being too small.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubbub.app import Runtime
from hubbub.irc.message import Message, parse
from tests.e2e_opers.conftest import ConfiguredServer, oper_toml
from tests.e2e_opers.support import oper_up
from tests.helpers import LineClient, cheap_hash, connect_plain, connected, stuck_socket, sync
from tests.web.wsclient import WsClient, client_frame, raw_websocket

WAIT = 5.0  # bound of every wait for something that should come at once
SLOW = 15.0  # bound of waits behind many connections or a store
TRANSPORTS = ["tcp", "tls", "ws"]
WEB = "listen.web='127.0.0.1:0'"
DROPPED = "ERROR :Closing Link: 127.0.0.1 (SendQ exceeded)"
LIST_LINE = re.compile(r":hubbub\.local (321 reader Channel :Users  Name|322 reader #chan\d{3} 1 :\d{3} t+)")
OPER_PASSWORD = "operpass"
# replies past 16 KiB (past one TLS record): the TLS case meets the bug above
PAST_ONE_RECORD = ["tcp", "tls", "ws"]


# -- servers and clients over each transport -----------------------------------------------------


def overrides(kind: str, tmp_path: Path, *more: str) -> list[str]:
    """What a server needs to be reached over `kind` (and the metrics: the web listener)."""
    extra = [WEB]
    if kind == "tls":
        extra += ["listen.tls=['127.0.0.1:0']", "tls.self_signed=true",
                  f"tls.cert={tmp_path / 'cert.pem'}", f"tls.key={tmp_path / 'key.pem'}"]  # fmt: skip
    return [*extra, *more]


class Peer:
    """A client over TCP, TLS or WebSocket (a LineClient or a WsClient below), read the
    same way: every line it receives, as text and parsed."""

    def __init__(self, client: LineClient | WsClient) -> None:
        self.client = client
        self.nick = "*"
        self.lines: list[str] = []
        self.received: list[Message] = []
        self._pings = 0

    async def send(self, line: str) -> None:
        if isinstance(self.client, WsClient):
            await self.client.send(line)
        else:
            self.client.send(line)

    async def read(self, timeout: float = WAIT) -> str | None:
        """The next line, or None once the server has closed."""
        try:
            if isinstance(self.client, WsClient):
                frame = await self.client.read_frame(timeout)
                line = None if frame is None else frame.data.decode("utf-8", "replace")
            else:
                line = await self.client.read_line(timeout)
        except TimeoutError:
            raise AssertionError(f"nothing within {timeout}s; got {self.lines[-5:]}") from None
        if line is not None:
            self.lines.append(line)
            self.received.append(parse(line))
        return line

    async def expect(self, command: str | Callable[[Message], bool], *params: str, timeout: float = WAIT) -> Message:
        while True:
            if await self.read(timeout) is None:
                raise AssertionError(f"closed while waiting for {command} {params}; got {self.lines[-5:]}")
            message = self.received[-1]
            if callable(command):
                if command(message):
                    return message
            elif message.command == command and message.params[: len(params)] == list(params):
                return message

    async def register(self, nick: str) -> None:
        """Register; the welcome (its MOTD included) must come whole, before a PONG."""
        await self.send(f"NICK {nick}")
        await self.send(f"USER {nick} 0 * :Reader")
        start = len(self.lines)
        await self.expect("001")
        token = self._token()
        await self.send(f"PING {token}")
        while (line := await self.read()) is not None and token not in line:
            pass
        welcome = self.lines[start:]
        assert welcome[-1] == f":hubbub.local PONG hubbub.local {token}", welcome[-3:]
        assert any(line.split(" ")[1] in ("376", "422") for line in welcome), welcome[-3:]
        self.nick = nick

    async def request(self, *caps: str) -> None:
        await self.send("CAP REQ :" + " ".join(caps))
        ack = await self.expect("CAP")
        assert ack.params[1:] == ["ACK", " ".join(caps)], ack.params

    def _token(self) -> str:
        self._pings += 1
        return f"big-{self._pings}"

    async def sync(self) -> list[Message]:
        token = self._token()
        start = len(self.received)
        await self.send(f"PING {token}")
        await self.expect(lambda m: m.command == "PONG" and m.params[-1:] == [token])
        return self.received[start:-1]

    async def reply(self, line: str) -> tuple[list[Message], list[str]]:
        """Send `line`; once its reply has begun, a PING (so answered in a later pass): what
        came before the PONG (a line that holds the PONG glued to something else included),
        or everything up to the close. Nothing here waits for a reply cut short."""
        start = len(self.lines)
        await self.send(line)
        first = await self.read()
        if first is not None and not first.startswith("ERROR "):
            token = self._token()
            pong = f":hubbub.local PONG hubbub.local {token}"
            await self.send(f"PING {token}")
            while (got := await self.read(SLOW)) is not None and token not in got:
                pass
            if got == pong:
                return self.received[start:-1], self.lines[start:-1]
        elif first is not None:
            while await self.read(SLOW) is not None:
                pass
        return self.received[start:], self.lines[start:]

    async def closed(self) -> list[str]:
        """Wait for the server to close; the lines read meanwhile."""
        start = len(self.lines)
        while await self.read(SLOW) is not None:
            pass
        return self.lines[start:]

    async def close(self) -> None:
        await self.client.close()


def size(lines: list[str]) -> int:
    """Bytes of `lines` as the server wrote them for IRC (CRLF-ended)."""
    return sum(len(line.encode()) + 2 for line in lines)


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    opened: list[Peer] = []
    yield opened
    for peer in opened:
        await peer.close()


async def open_peer(kind: str, server: Runtime, tmp_path: Path, peers: list[Peer], nick: str | None = None) -> Peer:
    if kind == "ws":
        peer = Peer(await WsClient.connect(server))
    elif kind == "tls":
        context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        host, port = server.tls_address()
        reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=1 << 20)
        peer = Peer(LineClient(reader, writer))
    else:
        peer = Peer(await LineClient.connect(server))
    peers.append(peer)
    if nick:
        await peer.register(nick)
    return peer


async def metrics(server: Runtime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as http, http.get(server.web_url("/metrics")) as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def drops(samples: dict, transport: str) -> float:
    return samples[("hubbub_sendq_drops_total", (("transport", transport),))]


async def still_serves(server: Runtime) -> None:
    one = await connected(server, "still1", "#still")
    two = await connected(server, "still2", "#still")
    await one.expect("JOIN", "#still")
    one.send("PRIVMSG #still :still here")
    assert (await two.expect("PRIVMSG", "#still")).params[1] == "still here"
    await one.close()
    await two.close()


# -- what the replies are made of ------------------------------------------------------------------


async def make_channels(server: Runtime, clients: list[LineClient], count: int, topic_length: int) -> dict[str, str]:
    """`count` channels, each with a topic, made by one owner at a pace any sendq allows;
    channel -> topic."""
    owner = await connected(server, "owner")
    clients.append(owner)
    topics = {}
    for i in range(count):
        channel = f"#chan{i:03d}"
        topics[channel] = f"{i:03d} " + "t" * (topic_length - 4)
        owner.send(f"JOIN {channel}")
        owner.send(f"TOPIC {channel} :{topics[channel]}")
        if i % 5 == 4:
            await sync(owner)
    await sync(owner)
    return topics


HISTORY_CAPS = ("draft/chathistory", "batch", "server-time", "message-tags")


async def fill_history(server: Runtime, clients: list[LineClient], count: int, length: int) -> list[str]:
    """`count` messages of `length` characters said in #hist; their texts, in order."""
    talker = await connected(server, "talker", "#hist")
    clients.append(talker)
    said = [f"{i:03d} " + "h" * (length - 4) for i in range(count)]
    for i, text in enumerate(said):
        talker.send(f"PRIVMSG #hist :{text}")
        if i % 20 == 19:
            await sync(talker)
    await sync(talker)
    return said


def member_nick(i: int) -> str:
    return f"m{i:03d}" + "x" * 26  # 30 bytes: NICKLEN


async def big_channel(server: Runtime, clients: list[LineClient], channel: str, count: int) -> list[str]:
    """`count` members in `channel` (username `longuser`, realname `R`); their nicks."""

    async def member(i: int) -> LineClient:
        client = await LineClient.connect(server)
        clients.append(client)
        client.send(f"NICK {member_nick(i)}")
        client.send("USER longuser 0 * :R")
        await client.expect("001", timeout=SLOW)
        await client.expect(lambda m: m.command in ("376", "422"), timeout=SLOW)
        client.nick = member_nick(i)
        client.send(f"JOIN {channel}")
        await client.expect("366", client.nick, channel, timeout=SLOW)
        return client

    for start in range(0, count, 50):
        await asyncio.gather(*(member(i) for i in range(start, min(count, start + 50))))
    return [member_nick(i) for i in range(count)]


# -- a client that reads gets a reply bigger than its sendq whole -----------------------------------


@pytest.mark.parametrize(
    ("kind", "sendq", "count"),
    [("tcp", 16384, 130), ("tls", 16384, 130), ("ws", 16384, 130),
     ("tls", 8192, 65)],  # a LIST of ~25 KB; over TLS also one of ~12 KB, within one TLS record
    ids=["tcp", "tls", "ws", "tls-within-one-record"],
)  # fmt: skip
async def test_list_of_many_channels_with_topics_arrives_whole(
    make_server, clients, peers, tmp_path, kind, sendq, count
) -> None:
    server = await make_server(*overrides(kind, tmp_path, f"limits.sendq={sendq}", "limits.max_channels=200"))
    topics = await make_channels(server, clients, count, 150)
    reader = await open_peer(kind, server, tmp_path, peers, "reader")
    replies, lines = await reader.reply("LIST")
    assert [m for m in replies if m.command == "ERROR"] == [], lines[-3:]
    assert sendq < size(lines) <= 2 * sendq, size(lines)  # the premise: past the sendq, within one pass's room
    assert [m.command for m in replies] == ["321", *["322"] * len(topics), "323"]
    assert {m.params[1]: m.params[3] for m in replies if m.command == "322"} == topics
    assert all(m.params[2] == "1" for m in replies if m.command == "322")
    await reader.sync()  # still connected, still answered
    assert drops(await metrics(server), "websocket" if kind == "ws" else kind) == 0


async def test_a_tls_client_gets_a_reply_past_one_tls_record_with_the_default_limits(
    make_server, clients, peers, tmp_path
) -> None:
    """Not about the sendq: with the default limits (a 256 KiB sendq), a ~25 KB LIST to a
    TLS client, which TCP and WebSocket clients get whole."""
    server = await make_server(*overrides("tls", tmp_path, "limits.max_channels=200"))
    topics = await make_channels(server, clients, 130, 150)
    reader = await open_peer("tls", server, tmp_path, peers, "reader")
    replies, lines = await reader.reply("LIST")
    assert size(lines) > 16384  # the premise: more than one TLS record
    assert [m.command for m in replies] == ["321", *["322"] * len(topics), "323"], lines[-2:]
    assert {m.params[1]: m.params[3] for m in replies if m.command == "322"} == topics


@pytest.mark.parametrize("kind", PAST_ONE_RECORD)
async def test_who_of_a_channel_of_hundreds_arrives_whole(make_server, clients, peers, tmp_path, kind) -> None:
    sendq = 16384
    server = await make_server(*overrides(kind, tmp_path, f"limits.sendq={sendq}", "limits.max_clients_per_ip=0"))
    nicks = await big_channel(server, clients, "#big", 230)
    reader = await open_peer(kind, server, tmp_path, peers, "reader")
    replies, lines = await reader.reply("WHO #big")
    assert [m for m in replies if m.command == "ERROR"] == [], lines[-3:]
    assert sendq < size(lines) <= 2 * sendq, size(lines)
    who = [m for m in replies if m.command == "352"]
    assert len(who) == len(nicks) and replies[-1].command == "315"
    assert sorted(m.params[5] for m in who) == sorted(nicks)
    assert all(m.params[1:5] == ["#big", "~longuser", "127.0.0.1", "hubbub.local"] for m in who)
    assert all(m.params[-1] == "0 R" for m in who)
    await reader.sync()


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_names_of_a_channel_of_hundreds_arrives_whole(make_server, clients, peers, tmp_path, kind) -> None:
    sendq = 8192  # NAMES lines are shorter than WHO's: a smaller sendq for the same channel
    server = await make_server(*overrides(kind, tmp_path, f"limits.sendq={sendq}", "limits.max_clients_per_ip=0"))
    nicks = await big_channel(server, clients, "#big", 230)
    reader = await open_peer(kind, server, tmp_path, peers, "reader")
    await reader.request("userhost-in-names")
    replies, lines = await reader.reply("NAMES #big")
    assert [m for m in replies if m.command == "ERROR"] == [], lines[-3:]
    assert sendq < size(lines) <= 2 * sendq, size(lines)
    assert {m.command for m in replies} == {"353", "366"} and replies[-1].command == "366"
    entries = [entry.lstrip("@+") for m in replies if m.command == "353" for entry in m.params[-1].split()]
    assert sorted(entries) == sorted(f"{nick}!~longuser@127.0.0.1" for nick in nicks)
    assert all(len(line.encode()) <= 510 for line in lines)  # split into lines IRC allows
    await reader.sync()


@pytest.mark.parametrize("kind", PAST_ONE_RECORD)
async def test_a_large_motd_arrives_whole_at_registration_and_on_request(make_server, peers, tmp_path, kind) -> None:
    sendq = 16384
    motd = [f"{i:03d} " + "m" * 96 for i in range(180)]
    (tmp_path / "motd.txt").write_text("\n".join(motd) + "\n", encoding="utf-8")
    server = await make_server(*overrides(kind, tmp_path, f"limits.sendq={sendq}",
                                          f"server.motd_file='{tmp_path / 'motd.txt'}'"))  # fmt: skip
    reader = await open_peer(kind, server, tmp_path, peers, "reader")  # registration: the MOTD too
    at_registration = [m.params[-1] for m in reader.received if m.command == "372"]
    assert at_registration == [f"- {line}" for line in motd]
    assert "ERROR" not in [m.command for m in reader.received]
    replies, lines = await reader.reply("MOTD")
    assert [m for m in replies if m.command == "ERROR"] == [], lines[-3:]
    assert sendq < size(lines) <= 2 * sendq, size(lines)
    assert [m.params[-1] for m in replies if m.command == "372"] == [f"- {line}" for line in motd]
    assert [m.command for m in replies] == ["375", *["372"] * len(motd), "376"]
    await reader.sync()


@pytest.mark.parametrize("kind", PAST_ONE_RECORD)
async def test_a_chathistory_latest_batch_arrives_whole(make_server, clients, peers, tmp_path, kind) -> None:
    sendq = 16384
    server = await make_server(*overrides(kind, tmp_path, f"limits.sendq={sendq}",
                                          f"store.db='{tmp_path / 'hubbub.db'}'"))  # fmt: skip
    talker = await connected(server, "talker", "#hist")
    clients.append(talker)
    said = [f"{i:03d} " + "h" * 146 for i in range(100)]
    for text in said:
        talker.send(f"PRIVMSG #hist :{text}")
    await sync(talker)
    reader = await open_peer(kind, server, tmp_path, peers, "reader")
    await reader.request("draft/chathistory", "batch", "server-time", "message-tags")
    replies, lines = await reader.reply("CHATHISTORY LATEST #hist * 100")
    assert [m for m in replies if m.command in ("ERROR", "FAIL")] == [], lines[-3:]
    assert sendq < size(lines) <= 2 * sendq, size(lines)
    opening, *inside, closing = replies
    assert opening.command == "BATCH" and opening.params[1:] == ["chathistory", "#hist"], opening
    assert closing.params == ["-" + opening.params[0][1:]]
    assert [m.params for m in inside] == [["#hist", text] for text in said]
    assert all(m.tags.get("batch") == opening.params[0][1:] and "msgid" in m.tags for m in inside)
    await reader.sync()


@pytest.mark.parametrize("kind", PAST_ONE_RECORD[:2])
async def test_a_big_reply_in_the_same_pass_as_a_stored_message_arrives_whole(
    make_server, clients, peers, tmp_path, kind
) -> None:
    """With history on, a pass that stores a message holds its output for the store's
    commit (take, then send): a LIST past the sendq in that pass still arrives whole, after
    the echo of the message. (One write of both lines: one read, one pass.)"""
    sendq = 16384
    server = await make_server(*overrides(kind, tmp_path, f"limits.sendq={sendq}", "limits.max_channels=200",
                                          f"store.db='{tmp_path / 'hubbub.db'}'"))  # fmt: skip
    topics = await make_channels(server, clients, 130, 150)
    listener = await connected(server, "listener", "#talk")
    clients.append(listener)
    reader = await open_peer(kind, server, tmp_path, peers, "reader")
    await reader.request("echo-message")
    await reader.send("JOIN #talk")
    await reader.expect("366", "reader", "#talk")
    replies, lines = await reader.reply("PRIVMSG #talk :stored first\r\nLIST")
    assert [m for m in replies if m.command == "ERROR"] == [], lines[-3:]
    assert [m.command for m in replies] == ["PRIVMSG", "321", *["322"] * (len(topics) + 1), "323"], lines[-3:]
    assert sendq < size(lines[1:]) <= 2 * sendq, size(lines)
    assert {m.params[1]: m.params[3] for m in replies if m.command == "322"} == {**topics, "#talk": ""}
    assert (await listener.expect("PRIVMSG", "#talk")).params[1] == "stored first"
    await reader.sync()


async def test_a_plain_mode_list_bigger_than_the_sendq_arrives_whole(make_server, clients) -> None:
    """The plain text mode (netcat) writes through the same queue: its `/list` too."""
    sendq = 16384
    server = await make_server(f"limits.sendq={sendq}", "limits.max_channels=200")
    topics = await make_channels(server, clients, 130, 150)
    person = await connect_plain(server, "plainy")
    clients.append(person)
    start = len(person.raw)
    person.send("/list")
    await person.expect_text(r"^\* End of the channel list$")
    lines = person.raw[start:]
    assert sendq < size(lines) <= 2 * sendq, size(lines)
    listed = [line for line in lines if line.startswith("* #chan")]
    assert listed == [f"* {channel} (1 here): {topic}" for channel, topic in topics.items()]
    assert not [line for line in lines if "Disconnected" in line or line.startswith("ERROR")]
    person.send("/help")  # still there
    await person.expect_text(r"/exit")


# -- a client that does not read is dropped; the others go on ------------------------------------


async def stuck_client(kind: str, server: Runtime, tmp_path: Path, lines: list[bytes]) -> Callable[[], None]:
    """A client with a tiny receive buffer that sends `lines` and then never reads; what
    closes it."""
    loop = asyncio.get_running_loop()
    if kind == "ws":
        sock = await raw_websocket(server, rcvbuf=4096)
        for line in lines:
            await loop.sock_sendall(sock, client_frame(line))
        return sock.close
    if kind == "tcp":
        sock = await stuck_socket(server, rcvbuf=4096)
        await loop.sock_sendall(sock, b"".join(line + b"\r\n" for line in lines))
        return sock.close
    host, port = server.tls_address()

    def handshake() -> ssl.SSLSocket:  # blocking, off the loop (the server runs on it)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(WAIT)
        raw.connect((host, port))
        tls = ssl.create_default_context(cafile=str(tmp_path / "cert.pem")).wrap_socket(raw, server_hostname=host)
        tls.sendall(b"".join(line + b"\r\n" for line in lines))
        return tls

    tls = await asyncio.to_thread(handshake)
    return tls.close


@pytest.mark.parametrize(
    ("kind", "history"),
    [("tcp", False), ("tls", False), ("tcp", True), ("tls", True), ("ws", True)],
    ids=["tcp", "tls", "tcp-history", "tls-history", "ws-history"],
)
async def test_a_client_that_does_not_read_is_dropped_and_the_others_chat_on(
    make_server, clients, tmp_path, kind, history
) -> None:
    store = [f"store.db='{tmp_path / 'hubbub.db'}'"] if history else []
    server = await make_server(*overrides(kind, tmp_path, "limits.sendq=16384", "limits.send_buffer=16384", *store))
    talker = await connected(server, "talker", "#c")
    watcher = await connected(server, "watcher", "#c")
    clients.extend([talker, watcher])
    await talker.expect("JOIN", "#c")
    close_stuck = await stuck_client(kind, server, tmp_path, [b"NICK stuck", b"USER s 0 * :never reads", b"JOIN #c"])
    try:
        assert (await watcher.expect("JOIN", "#c")).source.startswith("stuck!")
        padding = "p" * 400
        sent: list[str] = []
        for burst in range(300):  # at most ~2.5 MB: far past any kernel buffer and the sendq
            texts = [f"{burst}.{i} {padding}" for i in range(20)]
            talker.send("".join(f"PRIVMSG #c :{text}\r\n" for text in texts))
            sent += texts
            await watcher.expect(lambda m, last=texts[-1]: m.command == "PRIVMSG" and m.params[1] == last)
            if any(m.command == "QUIT" for m in watcher.received):
                break
        quits = [m for m in watcher.received if m.command == "QUIT"]
        assert len(quits) == 1, "the client that never reads was never dropped"
        assert quits[0].source.startswith("stuck!") and quits[0].params == ["SendQ exceeded"]
        # nobody waited for it, and nothing was lost for the others
        assert [m.params[1] for m in watcher.received if m.command == "PRIVMSG"] == sent
        assert (await talker.expect("QUIT")).params == ["SendQ exceeded"]
        talker.send("PRIVMSG #c :after the drop")
        assert (await watcher.expect("PRIVMSG", "#c")).params[1] == "after the drop"
        watcher.send("PRIVMSG #c :and back")
        assert (await talker.expect("PRIVMSG", "#c")).params[1] == "and back"
        assert drops(await metrics(server), "websocket" if kind == "ws" else kind) == 1
    finally:
        close_stuck()


# -- one reply past sendq + room: dropped cleanly ------------------------------------------------


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_reply_past_sendq_and_room_in_one_pass_drops_the_client_cleanly(
    make_server, clients, peers, tmp_path, kind
) -> None:
    """A reply that is not paced (a history batch: at most `CHATHISTORY=` messages)."""
    sendq = 4096
    server = await make_server(*overrides(kind, tmp_path, f"limits.sendq={sendq}", f"limits.send_buffer={sendq}",
                                          f"store.db='{tmp_path / 'hubbub.db'}'"))  # fmt: skip
    said = await fill_history(server, clients, 100, 300)  # a batch of ~45 KB
    watcher = await connected(server, "watcher", "#watch")
    clients.append(watcher)
    reader = await open_peer(kind, server, tmp_path, peers, "reader")
    await reader.request(*HISTORY_CAPS)
    await reader.send("JOIN #watch")
    await reader.expect("366", "reader", "#watch")
    await reader.sync()
    _, lines = await reader.reply("CHATHISTORY LATEST #hist * 100")
    assert lines[-1:] == [DROPPED], lines[-3:]
    assert [line for line in lines if line.startswith("ERROR")] == [DROPPED]
    # whatever came before the ERROR is whole lines of the batch, in order, none cut short
    texts = [parse(line).params[-1] for line in lines[:-1] if " PRIVMSG " in line]
    assert texts == said[: len(texts)]
    assert len(texts) < len(said)  # it was not sent whole
    quit_ = await watcher.expect("QUIT")
    assert quit_.source.startswith("reader!") and quit_.params == ["SendQ exceeded"]
    await still_serves(server)
    samples = await metrics(server)
    transport = "websocket" if kind == "ws" else kind
    assert drops(samples, transport) == 1
    assert sum(drops(samples, other) for other in ("tcp", "tls", "websocket") if other != transport) == 0


# -- REHASH of the sendq and the send buffer reaches existing connections ------------------------


@pytest.fixture(scope="module")
def oper_hash() -> str:
    return cheap_hash(OPER_PASSWORD)  # checked at the cost it was made at: the suite's cheap one


@pytest.fixture
async def configured(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """`await configured(toml, *overrides)`: a server reading `toml` from a file, which a
    REHASH reads again (the limits under test are in the file: overrides would win)."""
    started: list[ConfiguredServer] = []

    async def make(toml: str, *more: str) -> Runtime:
        served = ConfiguredServer(tmp_path / "hubbub.toml", [
            "listen.irc=['127.0.0.1:0']", "store.db=':memory:'", "limits.flood_control=false", *more,
        ])  # fmt: skip
        served.write(toml)
        started.append(served)
        return await served.start()

    yield make
    for served in started:
        if served.runtime is not None:
            await served.runtime.stop()


def limits_toml(oper_hash: str, sendq: int, send_buffer: int) -> str:
    return oper_toml(oper_hash) + f"[limits]\nsendq = {sendq}\nsend_buffer = {send_buffer}\nmax_channels = 200\n"


async def rehash(server: Runtime, ircop: LineClient, text: str) -> None:
    Path(server.config_name).write_text(text, encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("382")
    await ircop.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "*** Configuration reloaded")


@pytest.mark.parametrize(
    ("kind", "before", "after", "whole_before", "whole_after", "count"),
    [
        ("tcp", (4096, 4096), (16384, 16384), False, True, 100),  # a history batch of ~25 KB
        ("tls", (4096, 4096), (8192, 8192), False, True, 48),  # ~12 KB: within one TLS record
        ("ws", (4096, 4096), (16384, 16384), False, True, 100),
        ("tcp", (16384, 16384), (4096, 4096), True, False, 100),
        ("tls", (8192, 8192), (4096, 4096), True, False, 48),
        ("ws", (16384, 16384), (4096, 4096), True, False, 100),
        ("tcp", (16384, 4096), (16384, 16384), False, True, 100),  # the room alone
        ("tcp", (16384, 16384), (16384, 4096), True, False, 100),
        ("ws", (16384, 4096), (16384, 0), False, True, 100),  # 0: the system's buffer; room: the sendq
    ],
    ids=["tcp-raised", "tls-raised", "ws-raised", "tcp-lowered", "tls-lowered", "ws-lowered",
         "tcp-room-raised", "tcp-room-lowered", "ws-room-system"],
)  # fmt: skip
async def test_rehash_of_sendq_and_send_buffer_applies_to_existing_connections(
    configured, oper_hash, clients, peers, tmp_path, kind, before, after, whole_before, whole_after, count
) -> None:
    store = f"store.db='{tmp_path / 'hubbub.db'}'"
    server = await configured(limits_toml(oper_hash, *before), *overrides(kind, tmp_path, store))
    ircop = await connected(server, "ircop")
    clients.append(ircop)
    await oper_up(ircop, password=OPER_PASSWORD)
    said = await fill_history(server, clients, count, 120)
    reader = await open_peer(kind, server, tmp_path, peers, "reader")  # connected before the REHASH

    async def lists(peer: Peer, whole: bool) -> None:
        await peer.request(*HISTORY_CAPS)
        replies, lines = await peer.reply("CHATHISTORY LATEST #hist * 100")
        if whole:
            assert [m.command for m in replies] == ["BATCH", *["PRIVMSG"] * len(said), "BATCH"], lines[-3:]
            await peer.sync()
        else:
            lines += await peer.closed()
            assert [line for line in lines if line.startswith("ERROR")] == [DROPPED], lines[-3:]

    # the premise: under the limits before, this LIST is (or is not) sent whole
    await lists(await open_peer(kind, server, tmp_path, peers, "probe"), whole_before)
    await rehash(server, ircop, limits_toml(oper_hash, *after))
    await lists(reader, whole_after)
    await lists(await open_peer(kind, server, tmp_path, peers, "newcomer"), whole_after)
    await sync(ircop)
