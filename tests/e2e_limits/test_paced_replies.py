"""LIST and WHO are paced as the client reads them (ISUPPORT SAFELIST), black-box over
real sockets (TCP, TLS, WebSocket, the plain text mode, and the `irc` library).

A LIST of a big network or a WHO of a big channel can be many times the client's sendq;
it is written as the client reads it, never more than half the sendq unsent at a time,
so a client that reads gets it whole, however small its sendq. Its own later lines wait
until the reply is done (their replies come after it, in order); what others send it
comes between rows. A client that reads none of it for `limits.ping_timeout` seconds is
dropped as one past its sendq. Every test checks its premise: the reply is bigger than
the sendq and the kernel's room together, which one loop pass could not send.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hubbub.irc.message import Message
from tests.e2e_limits.test_big_replies import (
    TRANSPORTS,
    Peer,
    big_channel,
    drops,
    make_channels,
    metrics,
    open_peer,
    overrides,
    size,
    still_serves,
    stuck_client,
)
from tests.helpers import TIMEOUT, connect_plain, connected

SENDQ = 4096  # with send_buffer = SENDQ: one pass could send at most 8 KiB
TIGHT = [f"limits.sendq={SENDQ}", f"limits.send_buffer={SENDQ}", "limits.max_channels=200"]


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    opened: list[Peer] = []
    yield opened
    for peer in opened:
        await peer.close()


def list_rows(replies: list[Message]) -> dict[str, str]:
    return {m.params[1]: m.params[3] for m in replies if m.command == "322"}


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_list_far_past_sendq_and_room_arrives_whole_and_in_order(
    make_server, clients, peers, tmp_path, kind
) -> None:
    server = await make_server(*overrides(kind, tmp_path, *TIGHT))
    topics = await make_channels(server, clients, 150, 390)  # a LIST of ~65 KB
    reader = await open_peer(kind, server, tmp_path, peers, "reader")
    replies, lines = await reader.reply("LIST")  # its PING is answered after the whole LIST
    assert size(lines) > 8 * SENDQ, size(lines)
    assert [m.command for m in replies] == ["321", *["322"] * len(topics), "323"], lines[-3:]
    assert [m.params[1] for m in replies if m.command == "322"] == list(topics)
    assert list_rows(replies) == topics
    assert drops(await metrics(server), "websocket" if kind == "ws" else kind) == 0
    # and again, and the connection is as usable as before
    replies, _ = await reader.reply("LIST")
    assert list_rows(replies) == topics
    await reader.sync()
    await still_serves(server)


async def test_safelist_is_advertised(server, clients) -> None:
    client = await connected(server, "asker")
    clients.append(client)
    tokens = [token for m in client.received if m.command == "005" for token in m.params[1:-1]]
    assert "SAFELIST" in tokens


@pytest.mark.parametrize("kind", ["tcp", "ws"])
async def test_a_labeled_list_far_past_the_sendq_is_one_labeled_batch(
    make_server, clients, peers, tmp_path, kind
) -> None:
    server = await make_server(*overrides(kind, tmp_path, *TIGHT))
    topics = await make_channels(server, clients, 150, 390)
    reader = await open_peer(kind, server, tmp_path, peers, "reader")
    await reader.request("labeled-response", "batch")
    replies, lines = await reader.reply("@label=big1 LIST")
    assert size(lines) > 8 * SENDQ, size(lines)
    opening, *inside, closing = replies
    assert opening.command == "BATCH" and opening.params[1:] == ["labeled-response"], lines[:2]
    assert opening.tags.get("label") == "big1"
    ref = opening.params[0][1:]
    assert [m.command for m in inside] == ["321", *["322"] * len(topics), "323"], lines[-3:]
    assert all(m.tags.get("batch") == ref and "label" not in m.tags for m in inside)
    assert closing.command == "BATCH" and closing.params == ["-" + ref], lines[-2:]
    assert list_rows(inside) == topics
    # a short labeled LIST is still one labeled reply, whole, as before
    replies, _ = await reader.reply("@label=small LIST #chan001,#chan002")
    assert replies[0].command == "BATCH" and replies[0].tags.get("label") == "small"
    assert [m.command for m in replies[1:-1]] == ["321", "322", "322", "323"]


async def test_the_clients_next_lines_wait_for_the_list_and_others_messages_come_between(
    make_server, clients, peers, tmp_path
) -> None:
    server = await make_server(*overrides("tcp", tmp_path, *TIGHT))
    topics = await make_channels(server, clients, 150, 390)
    friend = await connected(server, "friend", "#side")
    clients.append(friend)
    reader = await open_peer("tcp", server, tmp_path, peers, "reader")
    await reader.send("JOIN #side")
    await reader.expect("366", "reader", "#side")
    await friend.expect("JOIN", "#side")
    # the LIST, then at once a command whose reply must come after all of it
    await reader.send("LIST\r\nTOPIC #side")
    await reader.expect("321")
    friend.send("PRIVMSG #side :said while the list goes out")
    await reader.expect("331", "reader", "#side", timeout=TIMEOUT)
    commands = [m.command for m in reader.received]
    start = commands.index("321")
    got = reader.received[start:]
    end = [m.command for m in got].index("323")
    assert [m.command for m in got[end:]] == ["323", "331"], "TOPIC's reply came before the end of the LIST"
    rows = [m for m in got[:end] if m.command == "322"]
    assert list_rows(rows) == {**topics, "#side": ""}
    # the friend's message arrived whole, as a line of its own, before the LIST ended or after
    said = [m for m in reader.received if m.command == "PRIVMSG"]
    assert [m.params for m in said] == [["#side", "said while the list goes out"]]


async def test_who_of_a_channel_far_past_the_sendq_arrives_whole(make_server, clients, peers, tmp_path) -> None:
    server = await make_server(*overrides("tcp", tmp_path, *TIGHT, "limits.max_clients_per_ip=0"))
    nicks = await big_channel(server, clients, "#big", 120)
    reader = await open_peer("tcp", server, tmp_path, peers, "reader")
    await reader.send("JOIN #big")
    await reader.expect("366", "reader", "#big", timeout=TIMEOUT)
    for query, code in (("WHO #big", "352"), ("WHO #big %tcuhsnfr,42", "354")):
        replies, lines = await reader.reply(query)
        assert size(lines) > 2 * SENDQ, size(lines)
        assert [m.command for m in replies] == [code] * (len(nicks) + 1) + ["315"], lines[-3:]
        listed = {m.params[5] if code == "352" else m.params[6] for m in replies if m.command == code}
        assert listed == {*nicks, "reader"}
    await reader.sync()


async def test_a_plain_mode_list_far_past_the_sendq_arrives_whole(make_server, clients) -> None:
    server = await make_server(*TIGHT)
    topics = await make_channels(server, clients, 150, 390)
    person = await connect_plain(server, "plainy")
    clients.append(person)
    start = len(person.raw)
    person.send("/list")
    await person.expect_text(r"^\* End of the channel list$")
    lines = person.raw[start:]
    assert size(lines) > 8 * SENDQ, size(lines)
    listed = [line for line in lines if line.startswith("* #chan")]
    assert listed == [f"* {channel} (1 here): {topic}" for channel, topic in topics.items()]
    person.send("/help")  # still there
    await person.expect_text(r"/exit")


async def test_a_client_that_stops_reading_a_paced_list_is_dropped_and_the_others_chat_on(
    make_server, clients, tmp_path
) -> None:
    server = await make_server(*overrides("tcp", tmp_path, *TIGHT, "limits.ping_interval=30",
                                          "limits.ping_timeout=1"))  # fmt: skip
    await make_channels(server, clients, 150, 390)
    talker = await connected(server, "talker", "#c")
    watcher = await connected(server, "watcher", "#c")
    clients.extend([talker, watcher])
    await talker.expect("JOIN", "#c")
    close_stuck = await stuck_client("tcp", server, tmp_path, [b"NICK stuck", b"USER s 0 * :never reads",
                                                               b"JOIN #c", b"LIST"])  # fmt: skip
    try:
        assert (await watcher.expect("JOIN", "#c")).source.startswith("stuck!")
        talker.send("PRIVMSG #c :while it is stuck")
        assert (await watcher.expect("PRIVMSG", "#c")).params[1] == "while it is stuck"
        quit_ = await watcher.expect("QUIT", timeout=TIMEOUT)
        assert quit_.source.startswith("stuck!") and quit_.params == ["SendQ exceeded"]
        assert drops(await metrics(server), "tcp") == 1
        watcher.send("PRIVMSG #c :and on")
        assert (await talker.expect("PRIVMSG", "#c")).params[1] == "and on"
    finally:
        close_stuck()


async def test_a_client_that_quits_in_the_middle_of_a_list_leaves_cleanly(
    make_server, clients, peers, tmp_path
) -> None:
    server = await make_server(*overrides("tcp", tmp_path, *TIGHT))
    await make_channels(server, clients, 150, 390)
    watcher = await connected(server, "watcher", "#w")
    clients.append(watcher)
    reader = await open_peer("tcp", server, tmp_path, peers, "reader")
    await reader.send("JOIN #w")
    await reader.expect("366", "reader", "#w")
    await reader.send("LIST\r\nQUIT :bye now")  # the QUIT waits for the LIST, then is handled
    lines = await reader.closed()
    assert [line.split(" ")[1] for line in lines if " 32" in line][-1] == "323"
    assert lines[-1].startswith("ERROR"), lines[-2:]
    quit_ = await watcher.expect("QUIT")
    assert quit_.source.startswith("reader!") and quit_.params == ["Quit: bye now"]
    await still_serves(server)


async def test_a_library_client_gets_a_list_far_past_the_sendq(make_server, clients, tmp_path) -> None:
    """The `irc` library (an independent client) reads the paced LIST as any other."""
    pytest.importorskip("irc")
    from irc.client_aio import AioReactor

    server = await make_server(*overrides("tcp", tmp_path, *TIGHT))
    topics = await make_channels(server, clients, 150, 390)
    loop = asyncio.get_running_loop()
    reactor = AioReactor(loop=loop)
    rows: list[tuple[str, str]] = []
    done: asyncio.Future[None] = loop.create_future()
    reactor.add_global_handler("list", lambda c, e: rows.append((e.arguments[0], e.arguments[2])))
    reactor.add_global_handler("listend", lambda c, e: done.done() or done.set_result(None))
    connection = reactor.server()
    host, port = server.irc_address()
    welcomed: asyncio.Future[None] = loop.create_future()
    reactor.add_global_handler("endofmotd", lambda c, e: welcomed.done() or welcomed.set_result(None))
    await connection.connect(host, port, "libbot", username="lib", ircname="The Library")
    try:
        await asyncio.wait_for(welcomed, TIMEOUT)
        connection.list()
        await asyncio.wait_for(done, TIMEOUT)
        assert dict(rows) == topics
        assert connection.is_connected()
    finally:
        if connection.is_connected():
            connection.disconnect("test over")
    assert drops(await metrics(server), "tcp") == 0
