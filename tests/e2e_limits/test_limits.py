"""The server's bounds, over real sockets: each limit gives the standard answer, and
nobody else notices.

Each test ends by proving that the server still serves everyone else: clients that
were not involved still chat and hear each other (`still_chatting`, or the peers the
test already has).
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
from dataclasses import replace
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.config import load
from hubbub.irc.message import Message
from hubbub.transport.gate import GateSettings
from hubbub.transport.tcp import TcpConnection, output_options
from hubbub.transport.websocket import WebSocketConnection
from tests.helpers import (
    DEFAULT_HASH,
    LineClient,
    connect_plain,
    connected,
    expect_answering_pings,
    stuck_socket,
    sync,
)
from tests.web.wsclient import WsClient

WAIT = 5.0  # bound of every wait for something that should come at once
SLOW_WAIT = 10.0  # bound of waits that include a configured delay or timeout


def privmsg_texts(client: LineClient, channel: str) -> list[str]:
    return [m.params[1] for m in client.received if m.command == "PRIVMSG" and m.params[0] == channel]


async def still_chatting(runtime: Runtime, channel: str = "#still") -> None:
    """Two fresh clients join a channel and hear each other: the server is fine."""
    one = await connected(runtime, "still1", channel)
    two = await connected(runtime, "still2", channel)
    await one.expect("JOIN", channel)  # still2 arriving
    one.send(f"PRIVMSG {channel} :still here")
    msg = await two.expect("PRIVMSG", channel)
    assert msg.params[1] == "still here" and msg.source.startswith("still1!")
    two.send(f"PRIVMSG {channel} :me too")
    msg = await one.expect("PRIVMSG", channel)
    assert msg.params[1] == "me too"
    await one.close()
    await two.close()


async def pair(runtime: Runtime, channel: str = "#c") -> tuple[LineClient, LineClient]:
    """alice and bob, both in `channel`, alice having seen bob join."""
    alice = await connected(runtime, "alice", channel)
    bob = await connected(runtime, "bob", channel)
    await alice.expect("JOIN", channel)
    return alice, bob


# -- input line length -------------------------------------------------------------------


async def test_oversized_line_gets_417_and_connection_stays_usable(make_server) -> None:
    server = await make_server()
    alice, bob = await pair(server)
    alice.send("PRIVMSG #c :" + "a" * 600)
    reply = await alice.expect("417")
    assert reply.params[0] == "alice"
    alice.send("@" + ";".join(f"t{i}=" + "v" * 90 for i in range(100)) + " PRIVMSG #c :tagged")
    await alice.expect("417")
    alice.send("PRIVMSG #c :short enough")
    msg = await bob.expect("PRIVMSG", "#c")
    assert msg.params[1] == "short enough"  # the long lines were never relayed
    assert [m.command for m in await sync(alice)] == []
    await still_chatting(server)


async def test_longest_accepted_message_is_relayed_cut_to_exactly_512_bytes(make_server) -> None:
    """A line of 512 bytes is accepted; relayed with the sender's mask in front, it would
    be longer, so its text is cut to what fits: the relayed line is 512 bytes exactly."""
    server = await make_server()
    alice, bob = await pair(server)
    head = "PRIVMSG #c :"
    text = "".join(chr(ord("a") + i % 26) for i in range(510 - len(head)))  # the longest line a client may send
    alice.send(head + text)
    alice.send("PRIVMSG #c :next")
    assert await sync(alice) == []  # no 417
    relayed = [m for m in await sync(bob) if m.command == "PRIVMSG"]
    assert [m.params[1] for m in relayed][1:] == ["next"]
    line = next(raw for raw in bob.raw if " PRIVMSG #c :" in raw and "next" not in raw)
    prefix = ":alice!~u@127.0.0.1 PRIVMSG #c :"
    assert line == prefix + text[: 510 - len(prefix)]
    assert len(line.encode()) + 2 == 512


async def test_tag_section_limit_counts_the_at_sign_and_the_space(make_server) -> None:
    """message-tags: at most 8191 bytes of tags, '@' and trailing space included, are
    read (a command that relays nothing, PING, answers); a message that relays its tags
    allows 4094 bytes of tag data, past which it is 417 (docs/ircv3.md)."""
    server = await make_server()
    alice, bob = await pair(server)

    def tagged(size: int, command: str, text: str) -> str:
        section = "@k=" + "t" * (size - len("@k=") - 1) + " "
        assert len(section) == size
        return section + command + " :" + text + "x" * (510 - len(command) - 2 - len(text))

    alice.send(tagged(8192, "PING", "one byte too many"))
    await alice.expect("417")
    alice.send(tagged(8191, "PING", "just fits"))
    assert (await alice.expect("PONG")).params[-1].startswith("just fits")
    alice.send(tagged(4097, "PRIVMSG #c", "past 4094 bytes of tag data"))  # '@' and ' ' not counted
    await alice.expect("417")
    alice.send(tagged(4096, "PRIVMSG #c", "4094 bytes of tag data"))
    assert (await bob.expect("PRIVMSG", "#c")).params[1].startswith("4094 bytes")
    assert not [m for m in await sync(alice) if m.command == "417"]

async def test_endless_line_gets_one_417_then_next_line_works(make_server) -> None:
    server = await make_server()
    alice, bob = await pair(server)
    chunk = b"x" * 4096
    for _ in range(3):  # 12 KiB, past 512 + 8191, with no line ending yet
        alice.writer.write(chunk)
    await alice.expect("417")  # reported while the line is still going on
    for _ in range(5):
        alice.writer.write(chunk)
    alice.writer.write(b"still the same line\r\n")
    alice.send("PRIVMSG #c :after the long one")
    msg = await bob.expect("PRIVMSG", "#c")
    assert msg.params[1] == "after the long one"
    await sync(alice)
    assert [m.command for m in alice.received].count("417") == 1
    await still_chatting(server)


# -- encoding and garbage ------------------------------------------------------------------


async def test_invalid_utf8_gets_fail_and_is_not_relayed(make_server) -> None:
    server = await make_server()
    alice, bob = await pair(server)
    alice.send(b"PRIVMSG #c :caf\xe9 au lait\r\n")
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    assert fail.source == server.config.server.name
    alice.send(b"\xff\xfe\xfd\r\n")  # not even a readable command
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ["*", "INVALID_UTF8"]
    alice.send("PRIVMSG #c :café au lait")
    msg = await bob.expect("PRIVMSG", "#c")
    assert msg.params[1] == "café au lait"
    assert privmsg_texts(bob, "#c") == ["café au lait"]
    await still_chatting(server)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_binary_garbage_neither_crashes_nor_touches_others(make_server, seed: int) -> None:
    server = await make_server()
    rng = random.Random(seed)
    alice, bob = await pair(server)
    fresh = await LineClient.connect(server)  # garbage as its very first bytes
    garbage = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))) for _ in range(8)]
    garbage.append(b"\x00" * 100 + b"\r\n" + b"\x00\xff\n\r\n\n")
    for blob in garbage:
        alice.writer.write(blob)
        fresh.writer.write(blob)
    alice.send(b"\r\n")
    replies = await sync(alice)  # still speaking IRC, and answered on the way
    assert replies, "the garbage got no answer at all"
    assert all(m.source == server.config.server.name for m in replies if m.command != "PRIVMSG")
    fresh.send(b"\r\n")
    assert await fresh.read_line() is not None  # answered (refusals, telnet answers, sentences)
    bob.send("PRIVMSG #c :anyone there?")
    msg = await alice.expect(lambda m: m.command == "PRIVMSG" and m.params[1] == "anyone there?")
    assert msg.source.startswith("bob!")
    await still_chatting(server)
    await fresh.close()


# -- flood control -------------------------------------------------------------------------

FLOOD = ("limits.flood_control=true", "limits.flood_burst=5", "limits.flood_rate=10")


async def test_flood_is_delayed_in_order_and_nothing_is_lost(make_server) -> None:
    """alice's burst passes at once, the rest of her lines wait for tokens, in order, and
    nothing is lost; carol, with a budget of her own, is not held up: her line, sent once
    the burst has arrived, comes before every line of alice's that waited."""
    server = await make_server()
    alice, bob = await pair(server)
    carol = await connected(server, "carol", "#c")
    await bob.expect("JOIN", "#c")
    burst, total = 5, 8
    for link in server.connections:  # flood control from now on: every bucket starts full
        link.configure(GateSettings(flood_control=True, flood_rate=1.0, flood_burst=burst))
    alice.send("".join(f"PRIVMSG #c :flood {i}\r\n" for i in range(total)))  # one write: queued at once
    await bob.expect("PRIVMSG", "#c", f"flood {burst - 1}")
    carol.send("PRIVMSG #c :carol is not held up")
    await bob.expect("PRIVMSG", "#c", f"flood {total - 1}", timeout=SLOW_WAIT)
    texts = privmsg_texts(bob, "#c")
    assert texts == [f"flood {i}" for i in range(burst)] + ["carol is not held up"] + [
        f"flood {i}" for i in range(burst, total)
    ]
    assert not [m for m in await sync(alice) if m.command == "ERROR"]  # slowed down, not dropped
    await still_chatting(server)


async def test_excess_flood_disconnects_and_peers_see_quit(make_server) -> None:
    server = await make_server(*FLOOD, "limits.flood_rate=1", "limits.recvq=4096")
    alice, bob = await pair(server)
    alice.send("".join(f"PRIVMSG #c :flooding the channel, line {i}\r\n" for i in range(300)))
    lines = await alice.closed(timeout=WAIT)
    assert any(line.startswith("ERROR :Closing Link: ") and line.endswith("(Excess Flood)") for line in lines), lines
    quit_msg = await bob.expect("QUIT")
    assert quit_msg.source.startswith("alice!") and "Excess Flood" in quit_msg.params[0]
    assert len(privmsg_texts(bob, "#c")) < 300
    await sync(bob)
    await still_chatting(server)


async def test_a_flooder_gets_the_replies_to_what_was_handled_before_its_error(make_server, clients) -> None:
    server = await make_server(*FLOOD, "limits.flood_rate=1", "limits.recvq=2048")
    alice = await connected(server, "alice")
    clients.append(alice)
    pings = "".join(f"PING :answered{i}\r\n" for i in range(3))
    alice.send(pings + "".join(f"PRIVMSG alice :flood {i} {'z' * 50}\r\n" for i in range(200)))
    lines = await alice.closed(timeout=WAIT)
    pongs = [line for line in lines if " PONG " in line]
    assert [pong.split()[-1].lstrip(":") for pong in pongs] == ["answered0", "answered1", "answered2"], lines
    assert lines[-1].endswith("(Excess Flood)"), lines


async def test_flood_control_off_lets_a_burst_through(make_server) -> None:
    server = await make_server(
        "limits.flood_control=false", "limits.flood_burst=1", "limits.flood_rate=0.1", "limits.recvq=1024"
    )
    alice, bob = await pair(server)
    total = 300
    alice.send("".join(f"PRIVMSG #c :burst {i}\r\n" for i in range(total)))
    await bob.expect(lambda m: m.command == "PRIVMSG" and m.params[1] == f"burst {total - 1}")
    assert privmsg_texts(bob, "#c") == [f"burst {i}" for i in range(total)]
    assert not [m for m in await sync(alice) if m.command == "ERROR"]


async def test_lines_queued_by_flood_control_are_handled_after_the_peer_stops_sending(make_server) -> None:
    """A bot that sends a burst and half-closes (`nc -N`) loses none of it to the delay."""
    server = await make_server(*FLOOD, "limits.flood_rate=20")
    alice, bob = await pair(server)
    total = 20
    alice.send("".join(f"PRIVMSG #c :last words {i}\r\n" for i in range(total)))
    await alice.writer.drain()
    alice.writer.write_eof()
    quit_msg = await bob.expect("QUIT", timeout=SLOW_WAIT)
    assert quit_msg.source.startswith("alice!")
    assert privmsg_texts(bob, "#c") == [f"last words {i}" for i in range(total)]
    assert await alice.closed() == []  # the server closed its side once done


# -- a client that never reads ---------------------------------------------------------


async def test_non_reader_is_dropped_without_delaying_others(make_server) -> None:
    server = await make_server("limits.sendq=32768")
    reader, flooder = await pair(server)  # reader is alice, flooder is bob
    stuck = await stuck_socket(server)
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(stuck, b"NICK stuck\r\nUSER s 0 * :never reads\r\nJOIN #c\r\n")
    await reader.expect("JOIN", "#c")
    await flooder.expect("JOIN", "#c")
    padding = "x" * 400
    quit_msg: Message | None = None
    batches_after_quit = 0
    for batch in range(500):  # at most ~10 MB; the drop comes after a few MB of kernel buffers
        for i in range(50):
            flooder.send(f"PRIVMSG #c :{batch}.{i} {padding}")
        for i in range(50):
            # the reader gets every message of this batch before the next one is sent
            msg = await reader.expect(lambda m: m.command in ("PRIVMSG", "QUIT"), timeout=WAIT)
            if msg.command == "QUIT":
                quit_msg = msg
                msg = await reader.expect("PRIVMSG", timeout=WAIT)
            assert msg.params[1].startswith(f"{batch}.{i} "), (batch, i, msg.params[1][:20])
        if quit_msg is not None:
            batches_after_quit += 1
            if batches_after_quit == 3:
                break
    assert quit_msg is not None, "the client that never reads was never dropped"
    assert quit_msg.source.startswith("stuck!") and quit_msg.params[0] == "SendQ exceeded"
    # the server really let go of the socket: it ends (after what was already sent)
    stuck.setblocking(True)
    stuck.settimeout(SLOW_WAIT)
    try:
        while await asyncio.to_thread(stuck.recv, 1 << 20):
            pass
    except ConnectionResetError:
        pass
    finally:
        stuck.close()
    assert not any(m.command == "ERROR" for m in await sync(flooder))
    await still_chatting(server)


async def test_a_client_that_does_not_read_is_dropped_near_its_sendq_not_megabytes_later(make_server) -> None:
    """The kernel's send buffer is bounded too (`limits.send_buffer`, at most the sendq):
    what a stuck client keeps from us stays near the sendq, not several MB of socket buffer."""
    sendq = 32768
    server = await make_server(f"limits.sendq={sendq}", "limits.send_buffer=65536")
    reader, flooder = await pair(server)
    stuck = await stuck_socket(server)
    await asyncio.get_running_loop().sock_sendall(stuck, b"NICK stuck\r\nUSER s 0 * :never reads\r\nJOIN #c\r\n")
    await reader.expect("JOIN", "#c")
    relayed = 0  # bytes of messages the channel was sent before the stuck client was dropped
    padding = "x" * 400
    for batch in range(200):
        flooder.send("".join(f"PRIVMSG #c :{batch}.{i} {padding}\r\n" for i in range(20)))
        got = 0
        while got < 20:
            msg = await reader.expect(lambda m: m.command in ("PRIVMSG", "QUIT"), timeout=WAIT)
            if msg.command == "QUIT":
                assert msg.source.startswith("stuck!") and msg.params[0] == "SendQ exceeded"
                # what the kernels hold (Linux doubles SO_SNDBUF) and the sendq, with a margin
                assert relayed <= sendq + 2 * sendq + 65536, relayed  # send_buffer is at most the sendq
                stuck.close()
                return
            relayed += len(reader.raw[-1].encode()) + 2
            got += 1
    raise AssertionError(f"the client that never reads was not dropped after {relayed} bytes")


async def test_accepted_connections_have_their_socket_options_and_a_reloaded_send_buffer() -> None:
    """Plain connections take keepalive, urgent data inline, no Nagle and the send buffer
    from their listening socket; after a reload, new connections get the new buffer, and
    so does a connection made before it."""
    settings = ["listen.irc=['127.0.0.1:0']", "listen.web=''", "store.db=':memory:'", "limits.sendq=262144"]
    runtime = Runtime(load(None, [*settings, "limits.send_buffer=32768"]),
                      loader=lambda: load(None, [*settings, "limits.send_buffer=65536"]))  # fmt: skip
    await runtime.start()

    def options(link: TcpConnection) -> tuple[int, int, int, int]:
        assert link.transport is not None
        sock = socket.socket(fileno=link.transport.get_extra_info("fd"))  # a view of the descriptor
        try:
            return (sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                    sock.getsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
                    sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))  # fmt: skip
        finally:
            sock.detach()

    async def new_connection() -> tuple[LineClient, TcpConnection]:
        client = await connected(runtime, f"sock{random.randrange(10**6)}")
        link = next(link for link in runtime.connections if isinstance(link, TcpConnection) and link.session
                    and link.session.speaks_irc and link.ip and link.transport is not None
                    and link not in seen)  # fmt: skip
        seen.append(link)
        return client, link

    seen: list[TcpConnection] = []
    try:
        before, early = await new_connection()
        keepalive, oobinline, nodelay, sndbuf = options(early)
        assert keepalive and oobinline and nodelay
        assert early.transport is not None
        view = socket.socket(fileno=early.transport.get_extra_info("fd"))
        try:  # a peer gone without a word (netcat cannot answer PING) is found in minutes
            probing = [view.getsockopt(socket.IPPROTO_TCP, option) for option in (
                socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT, socket.TCP_USER_TIMEOUT)]  # fmt: skip
        finally:
            view.detach()
        assert probing == [120, 15, 4, 180_000]
        assert 32768 <= sndbuf <= 65536  # Linux doubles what it is given
        reloaded: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        runtime.rehash(lambda error, notes: reloaded.set_result(error))
        assert await asyncio.wait_for(reloaded, WAIT) is None
        after, late = await new_connection()
        assert options(late)[3] > 65536
        assert options(early)[3] > 65536  # the reload reached it too
        for client in (before, after):
            client.writer.close()
    finally:
        await runtime.stop()


def nodelay_of(link: TcpConnection | WebSocketConnection) -> int:
    """TCP_NODELAY on a connection's socket, as the server holds it."""
    assert link.transport is not None
    if isinstance(link, WebSocketConnection):
        return int(link.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    fd = link.transport.get_extra_info("fd", -1)
    if fd < 0:  # a TLS one: the loop's transport has its socket
        return int(link.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    view = socket.socket(fileno=fd)
    try:
        return view.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        view.detach()


def test_output_options_pass_over_a_closed_socket_and_leave_a_unix_one_alone() -> None:
    """A reload reaches connections whose socket may have closed meanwhile, and a Unix
    socket has neither TCP_NODELAY nor a send buffer of ours."""
    closed = socket.socket()
    closed.close()
    output_options(closed, 65536, False)  # EBADF, not raised
    left, right = socket.socketpair()
    try:
        before = left.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        output_options(left, 4096, False)
        assert left.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == before
    finally:
        left.close()
        right.close()


@pytest.mark.parametrize("nodelay", [True, False])
async def test_tcp_nodelay_is_what_the_setting_says_on_plain_tls_and_websocket_connections(
    make_server, tmp_path: Path, nodelay: bool
) -> None:
    """`limits.tcp_nodelay = false` leaves Nagle's algorithm on, as InspIRCd and ngIRCd
    do; on TLS and WebSocket connections too, whose transports set TCP_NODELAY themselves.
    A reload turns it back for the connections there are and those that come."""
    setting = "true" if nodelay else "false"
    server = await make_server(
        "listen.tls=['127.0.0.1:0']", "tls.self_signed=true", f"tls.cert={tmp_path / 'cert.pem'}",
        f"tls.key={tmp_path / 'key.pem'}", "listen.web='127.0.0.1:0'", f"limits.tcp_nodelay={setting}",
    )  # fmt: skip
    plain = await connected(server, "plain")
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    reader, writer = await asyncio.open_connection(*server.tls_address(), ssl=context)
    secure = LineClient(reader, writer)
    await secure.register("secure")
    web = await WsClient.connect(server)
    try:
        await web.register("web")
        links = {link.session.conn.user.nick: link for link in server.connections
                 if isinstance(link, TcpConnection | WebSocketConnection) and link.session is not None}  # fmt: skip
        assert {nick: nodelay_of(links[nick]) for nick in ("plain", "secure", "web")} == dict.fromkeys(
            ("plain", "secure", "web"), int(nodelay))
        config = server.config
        server.loader = lambda: replace(config, limits=replace(config.limits, tcp_nodelay=not nodelay))
        reloaded: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        server.rehash(lambda error, notes: reloaded.set_result(error))
        assert await asyncio.wait_for(reloaded, WAIT) is None
        later = await connected(server, "later")
        links["later"] = next(link for link in server.connections if isinstance(link, TcpConnection)
                              and link.session is not None and link.session.conn.user.nick == "later")  # fmt: skip
        assert {nick: nodelay_of(link) for nick, link in links.items()} == dict.fromkeys(links, int(not nodelay))
        later.writer.close()
    finally:
        await web.close()
        plain.writer.close()
        secure.writer.close()


# -- timeouts ----------------------------------------------------------------------------


async def test_registration_timeout_closes_with_error(make_server) -> None:
    server = await make_server("limits.registration_timeout=0.5")
    slow = await LineClient.connect(server)
    await slow.expect("NOTICE")
    slow.send("NICK slowpoke")  # never sends USER
    lines = await slow.closed(timeout=SLOW_WAIT)
    assert any(line.startswith("ERROR :") and "Registration timed out" in line for line in lines), lines
    await still_chatting(server)


# A ping timeout longer than the interval leaves room for a busy test machine to answer.
PING_INTERVAL, PING_TIMEOUT = 0.3, 0.6
PING_FAST = (f"limits.ping_interval={PING_INTERVAL}", f"limits.ping_timeout={PING_TIMEOUT}")


async def test_idle_client_is_pinged_and_answering_keeps_it(make_server) -> None:
    server = await make_server(*PING_FAST)
    alice = await connected(server, "alice")
    rounds = int((PING_INTERVAL + PING_TIMEOUT) / PING_INTERVAL) + 1
    for _ in range(rounds):  # each PING comes an interval after the last PONG: past the timeout
        ping = await alice.expect("PING", timeout=SLOW_WAIT)
        assert ping.params == [server.config.server.name]
        alice.send(f"PONG :{ping.params[0]}")
    assert not [m for m in await sync(alice) if m.command == "ERROR"]
    assert not [m for m in alice.received if m.command == "ERROR"]
    await alice.close()


async def test_silent_client_is_dropped_by_ping_timeout_and_plain_users_are_not_pinged(make_server) -> None:
    server = await make_server(*PING_FAST)
    carol = await connect_plain(server, "carol")  # in #lobby, idle for the whole test
    alice = await connected(server, "alice", "#lobby")
    bob = await connected(server, "bob", "#lobby")  # will not answer
    lines, quit_msg = await asyncio.gather(
        bob.closed(timeout=SLOW_WAIT), expect_answering_pings(alice, "QUIT", timeout=SLOW_WAIT)
    )
    assert any(" PING " in line for line in lines), lines
    assert any(line.startswith("ERROR :") and "Ping timeout" in line for line in lines), lines
    assert quit_msg.source.startswith("bob!") and "Ping timeout" in quit_msg.params[0]
    # carol has been idle longer than bob, yet was never pinged nor dropped
    await carol.expect_text(r"^\* bob left \(Ping timeout")
    assert not any("PING" in line for line in carol.raw), carol.raw
    carol.send("never pinged")
    msg = await expect_answering_pings(alice, "PRIVMSG", "#lobby")
    assert msg.params[1] == "never pinged"
    await carol.close()
    await alice.close()


# -- connection counts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (("limits.max_clients_per_ip=2",), "Too many connections from your IP address"),
        (("limits.max_clients=2", "limits.max_clients_per_ip=0"), "Server is full"),
    ],
    ids=["per-ip", "server-full"],
)
async def test_a_connection_past_the_limit_is_refused_until_a_slot_frees(
    make_server, clients, overrides, reason
) -> None:
    server = await make_server(*overrides)
    first = await connected(server, "first", "#c")
    second = await connected(server, "second", "#c")
    clients += [first, second]
    third = await LineClient.connect(server)
    lines = await third.closed()
    assert lines == [f"ERROR :Closing Link: 127.0.0.1 ({reason})"]
    first.send("QUIT :making room")
    await first.closed()
    await second.expect("QUIT")
    fourth = await connected(server, "fourth", "#c")
    clients.append(fourth)
    fourth.send("PRIVMSG #c :got in")
    msg = await second.expect("PRIVMSG", "#c")
    assert msg.params[1] == "got in"


async def test_refused_connections_are_not_counted(make_server, clients) -> None:
    """Refusals must not leak a slot: after many refusals a freed slot is still usable."""
    server = await make_server("limits.max_clients_per_ip=1")
    first = await connected(server, "first")
    for _ in range(5):
        extra = await LineClient.connect(server)
        assert "Too many connections" in (await extra.closed())[0]
    first.send("QUIT")
    await first.closed()
    again = await connected(server, "again", "#c")
    clients.append(again)
    await sync(again)


# -- shutdown ----------------------------------------------------------------------------


async def test_shutdown_sends_each_client_its_error_and_nothing_else(make_server) -> None:
    """Everybody leaves at once: nobody is told about each of the others quitting."""
    server = await make_server()
    members = [await connected(server, f"user{i}", "#c") for i in range(4)]
    plain = await connect_plain(server, "plainuser")
    for member in members:
        await sync(member)
    await plain.expect_text(r"^\* In #lobby")
    plain.send("/join #c")
    await plain.expect_text(r"^\* In #c: ")
    for member in members:
        await member.expect("JOIN", "#c")  # plainuser's
    await server.stop()
    for member in members:
        lines = await member.closed()
        assert lines == ["ERROR :Closing Link: 127.0.0.1 (Server shutting down)"], lines
    assert await plain.closed() == ["*** Disconnected: Server shutting down"]


async def test_lines_sent_while_the_server_works_for_the_client_wait_past_the_recvq(make_server) -> None:
    """Input held for the client (here a password being hashed; in a cluster, the network
    ordering its event) is the server's wait, not a flood: past the recvq the server stops
    reading the socket instead of dropping the client, and handles everything after."""
    server = await make_server("limits.flood_control=false", "limits.recvq=1024", *DEFAULT_HASH)  # a slow hash
    alice, bob = await pair(server)
    total = 200  # about 5 KB: five times the recvq
    alice.send("NICKSERV REGISTER correct-horse-battery")
    alice.send("".join(f"PRIVMSG #c :waiting {i}\r\n" for i in range(total)))
    await bob.expect(lambda m: m.command == "PRIVMSG" and m.params[1] == f"waiting {total - 1}", timeout=SLOW_WAIT)
    assert privmsg_texts(bob, "#c") == [f"waiting {i}" for i in range(total)]
    assert not [m for m in await sync(alice) if m.command == "ERROR"]
