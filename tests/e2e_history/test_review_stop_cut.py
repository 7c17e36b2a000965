"""Review of cfb4ce4 (a clean stop counts as seen only what reached its clients: Link.cut,
set by abort() and by the SENDQ_GRACE timer).

Two bugs it found, fixed since (each test failed before the fix):

- tcp.py `_cut_off` checked `isinstance(transport, asyncio.WriteTransport)`, which a plain
  connection's transport (sockets.SocketTransport, a class of its own) is not: the grace
  period's abort never happened, so a plain client that stops reading and is
  disconnected (QUIT, KILL, SendQ, ...) kept its connection, its buffered output and its
  place in the connection limits for as long as its peer kept the TCP window shut.
- A WebSocket client that does not read is released (`_end`) when our close frame's answer
  times out (CLOSE_TIMEOUT, 1 s), its abort being SENDQ_GRACE (1 s) later: the stop's drain
  loop ended as soon as no IRC client was left, read `link.cut` at about 1 s, found it
  False and counted that client as having seen everything, though its output was then cut.
"""

from __future__ import annotations

import asyncio

from hubbub.transport import tcp
from tests.e2e_history.test_autoreplay_rejoin import identified, link_of, rejoin, stalling, talk_until_behind
from tests.helpers import TIMEOUT, LineClient, connected, start_server, sync
from tests.web.wsclient import RawFrames, client_frame, raw_websocket


async def _not_reading(server, nick: str) -> LineClient:  # type: ignore[no-untyped-def]
    """A plain client whose socket holds little and that stops reading once registered
    and in #c."""
    client = await stalling(server)
    await client.register(nick)
    await client.join("#c")
    await sync(client)
    return client


async def test_a_plain_client_behind_its_output_is_aborted_after_the_grace_period(monkeypatch, clients) -> None:
    """Guarded before cfb4ce4 by `call_later(SENDQ_GRACE, transport.abort)`."""
    monkeypatch.setattr(tcp, "SENDQ_GRACE", 0.05)
    server = await start_server("limits.send_buffer=4096")
    try:
        alice = await connected(server, "alice", "#c")
        clients.append(alice)
        bob = await _not_reading(server, "bob")
        clients.append(bob)
        link = link_of(server, "bob")
        assert type(link.transport).__name__ == "SocketTransport"  # a plain connection's own transport
        await talk_until_behind(alice, link)
        assert link.transport.get_write_buffer_size() > 0, "precondition: bob's output is behind"
        bob.send("QUIT :bye")  # its input is still read: the server closes it, its output unsent
        await alice.expect("QUIT")
        assert link.transport.is_closing()
        assert link.transport.get_write_buffer_size() > 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT  # the grace period is 0.05 s here
        while link in server.connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
        assert link not in server.connections, "the grace period ended long ago: the connection is still open"
        assert link.cut
    finally:
        await server.stop()


async def test_a_websocket_client_cut_off_at_a_clean_stop_is_replayed_what_it_never_received(stored, clients) -> None:
    """The WebSocket twin of test_autoreplay_rejoin's last test (a plain client there)."""
    server = await stored("listen.web='127.0.0.1:0'", "history.autoreplay_lines=10", "limits.send_buffer=4096")
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    loop = asyncio.get_running_loop()
    sock = await raw_websocket(server, rcvbuf=2048)
    frames = RawFrames(sock)

    async def say(line: str) -> None:
        await loop.sock_sendall(sock, client_frame(line.encode()))

    try:
        await say("NICK bob")
        await say("USER u 0 * :U")
        await frames.until(lambda _, payload: b" 001 " in payload)
        await say("PRIVMSG NickServ :REGISTER bob-horse-battery")
        await frames.until(lambda _, payload: b" 900 " in payload)
        await say("JOIN #c")
        await frames.until(lambda _, payload: b" 366 " in payload)
        # bob reads no more: what it is sent now waits in the server's buffers
        link = link_of(server, "bob")
        assert link.kind == "websocket"
        # behind: in the transport's buffer, or still in the connection's queue (its
        # transport paused past its high-water mark, or the output held for the store)
        lines = await talk_until_behind(alice, link)
        await server.stop()
    finally:
        sock.close()  # the client is gone without having read the rest: lines 0..149 never reached it

    server = await stored("history.autoreplay_lines=10")
    again = await identified(server, clients, "bobby", "bob")
    replayed = {int(text.split()[1]) for text in await rejoin(again)}
    assert replayed == set(range(lines - 10, lines)), sorted(replayed)
