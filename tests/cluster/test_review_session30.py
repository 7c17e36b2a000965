"""Review of ed7db5a (NodeLost.seen: a node's clean stop says until when its users were
shown everything, and every node notes its accounts' departures then) and 0355bc9 (+f
counts a TAGMSG as a fifth of a line).

A JOIN applied after the cut, which `seen` took for seen, is now named `unseen` by the
stopping node; the others guard the new behaviour (a client cut off at the stop, found here,
is fixed)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

from hubbub.server import chanflood
from hubbub.server.chanflood import LINE, TAG, FloodRule
from hubbub.server.events import (
    AccountRegistered,
    Joined,
    LoggedIn,
    NodeLost,
    NodeUp,
    Said,
    UserQuit,
    from_record,
    to_record,
)
from tests.cluster.support import Cluster, caught_up
from tests.cluster.test_departures_cluster import identified, registered, rejoin
from tests.cluster.test_rebuilt_log_order import unpublished
from tests.helpers import LineClient
from tests.services import RedisServer
from tests.unit.test_cluster_replica import Log, user
from tests.unit.test_departures_snapshot import feed, in_channels, node

STOPPING = "Server shutting down"

# -- NodeLost.seen: pure replica tests -----------------------------------------------------


def _bob_on_b(replica, log, seq) -> None:  # type: ignore[no-untyped-def]
    feed(replica, log, "bbbbbb", seq, NodeUp("bbbbbb", "b.example", 0.0), *user("bbbbbb", 1, "bob"),
         AccountRegistered("bob", "bob", "hash", "", "", 1.5), LoggedIn("bbbbbb1", "bob", 1.6, "l1"),
         Joined("bbbbbb1", "#c", 2.0, "j1"))  # fmt: skip


def test_seen_travels_from_the_node_lost_into_every_quit_and_survives_in_time_order() -> None:
    """Guard: the quits of a clean stop carry `seen`, moved in time or not, and a record
    without it (an older node) reads as 0; a NodeLost with seen becomes the departure."""
    record = to_record(UserQuit("bbbbbb1", STOPPING, 9.0, "q", seen=7.5))
    assert from_record(record).seen == 7.5
    del record["seen"]
    assert from_record(record).seen == 0.0

    log = Log()
    replica, departures = node("aaaaaa")
    seq = [0]
    _bob_on_b(replica, log, seq)
    seen = replica.state.clock_us / 1e6  # what node b computes at its stop: its last applied event
    feed(replica, log, "bbbbbb", seq, NodeLost("bbbbbb", STOPPING, 1.0, "n1", seen=seen))
    assert in_channels(departures.dump()) == [["bob", "#c", seen]]


def test_a_user_named_unseen_for_a_join_after_the_cut_has_no_departure_noted() -> None:
    """The stopping node names a user whose JOIN it had not applied at its cut (`unseen`,
    app.stop): the others, who apply that JOIN after `seen`, note no departure of it, so
    a rejoin replays the channel's last lines, as to anyone new (without the name they
    took `seen` for the channel joined after it)."""
    log = Log()
    replica, departures = node("aaaaaa")
    seq = [0]
    _bob_on_b(replica, log, seq)
    feed(replica, log, "bbbbbb", seq, *user("bbbbbb", 2, "dee"), Joined("bbbbbb2", "#d", 2.0, "j2"),
         Said("bbbbbb2", "PRIVMSG", "#d", True, "said before bob came", None, 2.1, "s1"))  # fmt: skip
    seen = replica.state.clock_us / 1e6  # node b's cut: bob's JOIN #d was still in its outbox
    feed(replica, log, "bbbbbb", seq, Joined("bbbbbb1", "#d", 2.2, "j3"))
    assert replica.state.clock_us / 1e6 > seen
    feed(replica, log, "bbbbbb", seq, NodeLost("bbbbbb", STOPPING, 3.0, "n1", seen=seen, unseen=("bbbbbb1",)))
    assert [entry for entry in in_channels(departures.dump()) if entry[0] == "bob"] == []


def test_a_join_emitted_and_not_applied_is_named_by_joining() -> None:
    """`Replica.joining`: the users whose JOIN waits in the outbox, and no longer once
    the log brought it back and it was applied."""
    log = Log()
    replica, _ = node("bbbbbb")
    seq = [0]
    _bob_on_b(replica, log, seq)
    replica.seq = seq[0]  # what this node published so far: the entries above
    assert replica.joining() == set()
    replica.emit(None, Joined("bbbbbb1", "#d", 2.2, "j3"))
    replica.emit(None, Said("bbbbbb1", "PRIVMSG", "#c", True, "hi", None, 2.3, "s2"))
    assert replica.joining() == {"bbbbbb1"}
    for sent, event in replica.unsent(10):
        seq[0] = sent - 1
        feed(replica, log, "bbbbbb", seq, event)
    assert replica.outbox == [] and replica.joining() == set()


# -- NodeLost.seen: a real cluster ---------------------------------------------------------


async def _slow_reader(cluster: Cluster, address: tuple[str, int]) -> LineClient:
    """A client whose socket holds little and that will stop reading: what the server
    sends it then piles up in the server's own buffer."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    await loop.sock_connect(sock, address)
    reader, writer = await asyncio.open_connection(sock=sock, limit=2048)
    client = LineClient(reader, writer)
    cluster.clients.append(client)
    return client


async def _everything(client: LineClient) -> list[str]:
    """What the client can still read, until the end of its connection."""
    lines = []
    try:
        while (line := await client.read_line(timeout=10)) is not None:
            lines.append(line)
    except (ConnectionError, TimeoutError):
        pass
    return lines


async def test_a_client_whose_output_is_cut_at_the_stop_is_replayed_what_it_never_received(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2, "history.autoreplay_lines=10", "limits.send_buffer=4096")
        alice = await cluster.client(n2, "alice", "#c")
        watcher = await cluster.client(n1, "watcher")
        assert n1.address is not None
        bob = await _slow_reader(cluster, n1.address)
        await bob.register("bob")
        bob.send("PRIVMSG NickServ :REGISTER bob-horse-battery")
        await bob.expect("900")
        await bob.join("#c")
        await alice.expect("JOIN")
        # bob stops reading (a slow link, a client busy for a moment): what it is sent
        # now waits in node 1's buffer, well within its sendq
        count = 150
        for i in range(count):
            alice.send(f"PRIVMSG #c :line {i} " + "x" * 380)
        await caught_up(alice)
        await caught_up(watcher)  # node 1 applied every line: all of them before its `seen`

        await n1.stop()  # SIGTERM, a rolling restart: bob's output cannot drain and is cut
        live = [line for line in await _everything(bob) if " PRIVMSG #c :" in line]
        received = {line.split(" PRIVMSG #c :", 1)[1].split()[1] for line in live}
        assert f"{count - 1}" not in received, "precondition: bob's last lines never reached it"

        bobby = await identified(cluster, n2, "bobby", "bob")
        replayed = {text.split()[1] for text in await rejoin(bobby)}
        # a JOIN replays at most the last 10 lines (as for anyone new before this change):
        # those at least bob was shown one way or the other
        missed = [i for i in range(count - 10, count) if f"{i}" not in received | replayed]
        assert missed == [], f"never shown nor replayed: lines {missed} (bob read {len(live)} lines live)"
    finally:
        await cluster.close()


async def test_a_join_still_on_its_way_at_a_clean_stop_is_not_taken_for_seen(
    own_redis: RedisServer, cluster_config: str
) -> None:
    """Bob's JOIN #d waits for the log (Redis paused) when his node stops: the others
    apply it after the stop's cut, so bob never saw #d until then. Coming back on another
    node, bob is replayed #d's last lines, as anyone new (before: none said before the
    cut, his departure from #d taken for then)."""
    assert own_redis.process is not None
    cluster = Cluster(own_redis.url, cluster_config)
    try:
        n1 = await cluster.add("history.autoreplay_lines=10", "cluster.node_timeout=10", "listen.web='127.0.0.1:0'")
        n2 = await cluster.add("history.autoreplay_lines=10", "cluster.node_timeout=10")
        dee = await cluster.client(n2, "dee", "#d")
        bob = await registered(cluster, n1, "bob", "#c")
        dee.send("PRIVMSG #d :said before bob came")
        await caught_up(dee)
        await caught_up(bob)  # node 1 applied dee's line: it is before node 1's cut
        pid = own_redis.process.pid
        os.kill(pid, signal.SIGSTOP)  # the log out of reach for a moment: bob's JOIN waits in node 1
        try:
            bob.send("JOIN #d")
            for _ in range(200):
                if await unpublished(n1) >= 1:
                    break
                await asyncio.sleep(0.02)
            assert await unpublished(n1) >= 1
            stopping = asyncio.create_task(n1.stop())
            await bob.expect("ERROR")  # past the cut: everyone disconnected
        finally:
            os.kill(pid, signal.SIGCONT)
        await stopping
        await dee.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))  # applied after the cut
        await dee.expect("QUIT")
        bobby = await identified(cluster, n2, "bobby", "bob")
        assert "said before bob came" in await rejoin(bobby, "#d")
    finally:
        await cluster.close()


async def test_a_clean_stop_still_replays_what_was_said_after_it(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """Guard: a line another node applies while the stopping node already stopped
    reading (the log goes on) is after `seen` and replayed."""
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2, "history.autoreplay_lines=50")
        alice = await cluster.client(n2, "alice", "#c")
        bob = await registered(cluster, n1, "bob", "#c")
        alice.send("PRIVMSG #c :seen")
        await bob.expect("PRIVMSG", "#c", "seen")
        stopping = asyncio.create_task(n1.stop())
        for i in range(20):  # said around the stop: before, during, after it
            alice.send(f"PRIVMSG #c :around {i}")
            await asyncio.sleep(0.01)
        await stopping
        live = {m.params[1] for m in bob.received if m.command == "PRIVMSG"}
        while True:  # what bob's socket still had
            try:
                message = await bob.read_message(timeout=2)
            except (ConnectionError, TimeoutError):
                break
            if message is None:
                break
            if message.command == "PRIVMSG":
                live.add(message.params[1])
        await caught_up(alice)
        bobby = await identified(cluster, n2, "bobby", "bob")
        replayed = await rejoin(bobby)
        assert "seen" not in replayed
        missing = [f"around {i}" for i in range(20) if f"around {i}" not in live | set(replayed)]
        assert missing == [], (sorted(live), replayed, bob.raw[-8:])
    finally:
        await cluster.close()


# -- +f weights -------------------------------------------------------------------------------


def test_flood_weights_in_fifths() -> None:
    """Guard: a rule of N lines takes N lines, or 5N TAGMSGs, or any mix of that weight;
    the next fifth crosses it, and later ones are over."""
    rule = FloodRule(2, 10, False)
    counts: chanflood.Counts = {}
    verdicts = [chanflood.counted(counts, rule, "u", 0.0, 3, TAG) for _ in range(10)]
    assert verdicts == [chanflood.OK] * 10
    assert chanflood.counted(counts, rule, "u", 0.0, 3, TAG) == chanflood.CROSSED
    assert chanflood.counted(counts, rule, "u", 0.0, 3, TAG) == chanflood.OVER
    assert chanflood.counted(counts, rule, "u", 10.0, 3, LINE) == chanflood.OK  # a new window

    counts = {}
    assert chanflood.counted(counts, rule, "v", 0.0, 3, 2 * LINE) == chanflood.OK  # a multiline of two lines
    assert chanflood.counted(counts, rule, "v", 0.0, 3, TAG) == chanflood.CROSSED
    counts = {}
    assert chanflood.counted(counts, rule, "w", 0.0, 3, 3 * LINE) == chanflood.CROSSED  # three at once
