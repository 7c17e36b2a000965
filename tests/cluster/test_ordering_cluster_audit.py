"""Audit across nodes: a JOIN waiting for the store, per-address limits by IPv6 network,
bans on addresses, SAMODE and services, each checked with its actors on two nodes.

A black-box audit: every node is a real `hubbub serve --cluster` process on the
session's redis-server (tests/cluster/support.py; one test stops a redis-server of its
own), with PostgreSQL as the shared store where the store matters. Nothing is read from
inside a node.

A JOIN's reply waits for the store while it reads the joiner's read marker. To keep it
waiting for as long as a test needs, the test locks the `read_markers` table of the
shared PostgreSQL itself (ACCESS EXCLUSIVE: even a SELECT waits for it); nothing else
the nodes write touches that table, so everything else goes on. A watcher on the
joiner's node tells when that node has applied what the other node's users did (the
node delivers to both alike). A SHARE lock on `messages` stands for a node whose
commits are slow: writes wait, reads go on.
WEBIRC gateway users are the way to reach chosen addresses (IPv6 ones too) over the
loopback interface.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from argon2 import PasswordHasher

from hubbub.irc.message import Message
from tests.cluster.support import OPER_PASSWORD, Cluster, Node, caught_up, digests, oper_up
from tests.helpers import LineClient, sync
from tests.services import RedisServer

GATEWAY_PASSWORD = "gw-secret"
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CONFIG = (
    f'[[opers]]\nname = "admin"\npassword_hash = "{_CHEAP.hash(OPER_PASSWORD)}"\n'
    f'[[webirc]]\nname = "kiwi"\npassword_hash = "{_CHEAP.hash(GATEWAY_PASSWORD)}"\nhosts = ["127.0.0.1"]\n'
)
NS = "NickServ!NickServ@services"
CS = "ChanServ!ChanServ@services"
PASSWORD = "correct-horse"
LABELED = ("labeled-response", "batch", "message-tags")
MARKER = ("draft/read-marker", "draft/chathistory", "batch")  # a marker on JOIN, no replay
TOO_MANY = "Too many connections from your IP address"
FAST_SNAPSHOTS = "cluster.snapshot_interval=0.2"


# -- networks -----------------------------------------------------------------------------


Networks = Callable[..., Cluster]


@pytest.fixture
async def networks(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Networks]:
    """`networks(db=":memory:")`: a cluster of the test's own (a keyspace of its own) whose
    nodes read a configuration with an operator (admin) and a WebIRC gateway at 127.0.0.1."""
    config = tmp_path / "hubbub.toml"
    config.write_text(CONFIG, encoding="utf-8")
    made: list[Cluster] = []

    def make(db: str = ":memory:") -> Cluster:
        cluster = Cluster(redis_server.url, str(config), db=db)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        await cluster.close()


@pytest.fixture
def network(networks: Networks) -> Cluster:
    return networks()


@pytest.fixture
def stored(networks: Networks, postgres_url: str) -> tuple[Cluster, str]:
    """A cluster sharing a PostgreSQL database of the test's own; and its URL."""
    return networks(postgres_url), postgres_url


# -- clients ------------------------------------------------------------------------------


def _from(source: str) -> Callable[[Message], bool]:
    return lambda m: m.command == "NOTICE" and m.source == source


async def ns(client: LineClient, line: str) -> str:
    client.send(f"NICKSERV {line}")
    return (await client.expect(_from(NS))).params[-1]


async def cs(client: LineClient, line: str) -> str:
    client.send(f"CHANSERV {line}")
    return (await client.expect(_from(CS))).params[-1]


async def registered(cluster: Cluster, node: Node, nick: str, *channels: str, caps: Sequence[str] = ()) -> LineClient:
    """A client that registered its nick as an account with NickServ (and is logged in)."""
    client = await cluster.client(node, nick, *channels, caps=caps)
    assert await ns(client, f"REGISTER {PASSWORD}") == "Account created"
    await client.expect(_from(NS))  # You're now logged in as ...
    await client.expect("MODE", nick, "+r")  # what the login changed, after its answer
    return client


async def via_gateway(cluster: Cluster, node: Node, ip: str, nick: str, host: str | None = None) -> LineClient:
    """A gateway's connection for a user at `ip` (shown as `host`), registering as `nick`:
    the caller reads whether it got in (001) or was refused (ERROR)."""
    client = await cluster.client(node)
    # one write, as a gateway sends them: a refusal closes the connection at once, and a
    # later write of ours would race it
    client.send(f"WEBIRC {GATEWAY_PASSWORD} KiwiIRC {host or ip} {ip}\r\nNICK {nick}\r\nUSER {nick} 0 * :{nick}")
    client.nick = nick
    return client


async def admitted(client: LineClient) -> bool:
    """Whether a gateway user got in (001) rather than refused for its address."""
    first = await client.expect(lambda m: m.command in ("001", "ERROR"))
    if first.command == "ERROR":
        assert TOO_MANY in first.params[-1], first
        return False
    await client.expect(lambda m: m.command in ("376", "422"))
    return True


def said_by(nick: str, text: str) -> Callable[[Message], bool]:
    return lambda m: m.command == "PRIVMSG" and (m.source or "").startswith(nick + "!") and m.params[-1] == text


def about(message: Message) -> str | None:
    """The channel a line of a JOIN's reply (or of what follows it) is about."""
    if message.command in ("JOIN", "PART", "MARKREAD", "PRIVMSG", "KICK", "MODE"):
        return message.params[0]
    if message.command == "RENAME":
        return message.params[1]
    if message.command in ("332", "333", "366", "473", "474"):
        return message.params[1]
    if message.command == "353":
        return message.params[2]
    return None


def shown(messages: list[Message]) -> list[tuple[str, str | None]]:
    return [(m.command, about(m)) for m in messages if m.command != "BATCH"]


# -- holding a JOIN in its wait for the store ----------------------------------------------


@asynccontextmanager
async def locked(url: str, table: str, mode: str) -> AsyncIterator[None]:
    """Inside: `table` of the shared store is locked by the test in `mode` (SHARE: writes
    wait, reads go on; ACCESS EXCLUSIVE: reads wait too)."""
    conn = await asyncpg.connect(url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(f"LOCK TABLE {table} IN {mode} MODE")
        try:
            yield
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def test_a_join_waiting_for_its_marker_gets_another_node_s_talk_after_its_reply(stored) -> None:
    network, url = stored
    n1, n2 = await network.start(2)
    bob = await network.client(n2, "bob", "#a")
    watcher = await network.client(n1, "watcher", "#a")
    alice = await registered(network, n1, "alice", caps=MARKER)
    await caught_up(bob)
    async with locked(url, "read_markers", "ACCESS EXCLUSIVE"):
        alice.send("JOIN #a")
        await alice.expect("JOIN", "#a")  # unlabeled: out as applied; the rest waits for the marker
        for i in range(5):
            bob.send(f"PRIVMSG #a :during {i}")
        await watcher.expect(said_by("bob", "during 4"))  # node 1 has applied them all
    got = await alice.collect_until(said_by("bob", "during 4"))
    assert [c for c in shown(got) if c[0] in ("MARKREAD", "366", "PRIVMSG")] == [
        ("MARKREAD", "#a"), ("366", "#a"), *[("PRIVMSG", "#a")] * 5,
    ], got  # fmt: skip
    assert [m.params[-1] for m in got if m.command == "PRIVMSG"] == [f"during {i}" for i in range(5)]
    bob.send("PRIVMSG #a :after")  # nothing is held any more
    await alice.expect(said_by("bob", "after"))
    assert [m.params[-1] for m in await sync(alice) if m.command == "PRIVMSG"] == []  # each line once


async def test_a_labeled_join_of_several_channels_is_one_reply_then_what_another_node_did_meanwhile(stored) -> None:
    network, url = stored
    n1, n2 = await network.start(2)
    bob = await network.client(n2, "bob", "#a", "#b", "#c", "#d")
    watcher = await network.client(n1, "watcher", "#a")
    alice = await registered(network, n1, "alice", caps=(*LABELED, *MARKER))
    await caught_up(bob)
    async with locked(url, "read_markers", "ACCESS EXCLUSIVE"):
        alice.send("@label=J JOIN #a,#b,#c,#d")
        await watcher.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("alice!"))
        bob.send("PRIVMSG #a :live while waiting")
        bob.send("PRIVMSG #b :before she joins #b")  # she is not in #b yet: never hers
        bob.send("MODE #d +i")  # before the JOIN gets to #d
        bob.send("KICK #a alice :out")
        await bob.expect("MODE", "#d", "+i")
        await watcher.expect("KICK", "#a", "alice")  # node 1 has applied all of it
    got = await alice.collect_until("KICK")
    opening = got[0]
    assert opening.command == "BATCH" and opening.tags.get("label") == "J", got
    ref = opening.params[0][1:]
    end = next(i for i, m in enumerate(got) if m.command == "BATCH" and m.params[0] == "-" + ref)
    reply, after = got[1:end], got[end + 1 :]
    assert [c for c in shown(reply) if c[0] in ("JOIN", "MARKREAD", "366", "473", "PRIVMSG", "KICK")] == [
        ("JOIN", "#a"), ("MARKREAD", "#a"), ("366", "#a"), ("JOIN", "#b"), ("MARKREAD", "#b"), ("366", "#b"),
        ("JOIN", "#c"), ("MARKREAD", "#c"), ("366", "#c"), ("473", "#d"),
    ], reply  # fmt: skip
    assert [(m.command, m.params[-1]) for m in after] == [("PRIVMSG", "live while waiting"), ("KICK", "out")], after
    bob.send("PRIVMSG #b :after")  # later lines flow
    await alice.expect(said_by("bob", "after"))
    alice.send("@label=P PING :x")
    pong = await alice.expect("PONG")
    assert pong.tags.get("label") == "P"


async def test_a_join_naming_a_channel_twice_joins_it_once_and_a_kick_meanwhile_stays_true(stored) -> None:
    """`JOIN #a,#b,#a` (an autojoin list may) once left the client shown JOIN, JOIN, KICK
    while a KICK during the wait had put it back in #a on the network. Now a channel named
    twice takes one turn: the client's view and the network's agree, out of #a."""
    network, url = stored
    n1, n2 = await network.start(2)
    bob = await network.client(n2, "bob", "#a", "#b")
    watcher = await network.client(n1, "watcher", "#a")
    alice = await registered(network, n1, "alice", caps=(*LABELED, *MARKER))
    await caught_up(bob)
    async with locked(url, "read_markers", "ACCESS EXCLUSIVE"):
        alice.send("@label=J JOIN #a,#b,#a")  # #a twice (an autojoin list may)
        await watcher.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("alice!"), timeout=15)
        # bob's node too must have applied it, or his KICK is refused there (441)
        await bob.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("alice!"), timeout=15)
        bob.send("KICK #a alice :out")
        await watcher.expect("KICK", "#a", "alice", timeout=15)  # a loaded machine: three processes and Redis
    alice.send("PING :done")
    got = await alice.collect_until("PONG")
    bob.send("NAMES #a")
    assert "alice" not in (await bob.expect("353")).params[-1].split()  # joined once, then kicked
    membership = [m.command for m in got if m.command in ("JOIN", "KICK") and m.params[0] == "#a"]
    assert membership == ["JOIN", "KICK"], membership  # what she is shown says the same


async def test_a_rename_on_another_node_during_the_wait_comes_after_the_join_s_reply(stored) -> None:
    network, url = stored
    n1, n2 = await network.start(2)
    bob = await network.client(n2, "bob", "#a")
    watcher = await network.client(n1, "watcher", "#a")
    alice = await registered(network, n1, "alice", caps=MARKER)  # no draft/channel-rename: PART, JOIN, NAMES
    await caught_up(bob)
    async with locked(url, "read_markers", "ACCESS EXCLUSIVE"):
        alice.send("JOIN #a")
        await alice.expect("JOIN", "#a")
        bob.send("RENAME #a #r :moving")
        await watcher.expect("JOIN", "#r")
        bob.send("PRIVMSG #r :in the new one")
        await watcher.expect(said_by("bob", "in the new one"))
    got = await alice.collect_until(said_by("bob", "in the new one"))
    seen = shown(got)
    assert [c for c in seen if c[0] in ("MARKREAD", "366", "PART", "JOIN", "PRIVMSG")] == [
        ("MARKREAD", "#a"), ("366", "#a"), ("PART", "#a"), ("JOIN", "#r"), ("366", "#r"), ("PRIVMSG", "#r"),
    ], got  # fmt: skip
    first_r = min(i for i, c in enumerate(seen) if c[1] == "#r")
    assert seen[first_r] == ("JOIN", "#r"), seen
    bob.send("PRIVMSG #r :after")
    await alice.expect(said_by("bob", "after"))


async def test_a_labeled_join_of_two_channels_then_a_rename_on_another_node_seen_as_a_rename(stored) -> None:
    network, url = stored
    n1, n2 = await network.start(2)
    bob = await network.client(n2, "bob", "#a", "#b")
    watcher = await network.client(n1, "watcher", "#a")
    alice = await registered(network, n1, "alice", caps=(*LABELED, *MARKER, "draft/channel-rename"))
    await caught_up(bob)
    async with locked(url, "read_markers", "ACCESS EXCLUSIVE"):
        alice.send("@label=J JOIN #a,#b")
        await watcher.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("alice!"))
        bob.send("RENAME #a #r :moving")
        await watcher.expect("JOIN", "#r")  # node 1 has applied it
    got = await alice.collect_until("RENAME")
    opening = got[0]
    assert opening.command == "BATCH" and opening.tags.get("label") == "J", got
    ref = opening.params[0][1:]
    end = next(i for i, m in enumerate(got) if m.command == "BATCH" and m.params[0] == "-" + ref)
    reply, after = got[1:end], got[end + 1 :]
    assert [c for c in shown(reply) if c[0] in ("JOIN", "MARKREAD", "366", "RENAME")] == [
        ("JOIN", "#a"), ("MARKREAD", "#a"), ("366", "#a"), ("JOIN", "#b"), ("MARKREAD", "#b"), ("366", "#b"),
    ], reply  # fmt: skip
    assert [(m.command, m.params[:2]) for m in after] == [("RENAME", ["#a", "#r"])], after
    bob.send("PRIVMSG #r :after")
    await alice.expect(said_by("bob", "after"))


async def test_a_labeled_join_s_replay_comes_whole_before_another_node_s_talk_during_it(stored) -> None:
    network, url = stored
    n1, n2 = await network.start(2, "history.events=false")  # only messages are written to the store
    bob = await network.client(n2, "bob", "#a", caps=("echo-message",))
    watcher = await network.client(n1, "watcher", "#a")
    alice = await network.client(n1, "alice", caps=(*LABELED, "server-time"))  # no draft/chathistory: replays
    await caught_up(bob)
    for i in range(5):
        bob.send(f"PRIVMSG #a :old {i}")
    await bob.expect(said_by("bob", "old 4"))  # its echo leaves node 2 once it is stored
    async with locked(url, "messages", "ACCESS EXCLUSIVE"):  # the replay's read waits
        alice.send("@label=J JOIN #a")
        await watcher.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("alice!"))
        bob.send("".join(f"PRIVMSG #a :new {i}\r\n" for i in range(50)))
        await watcher.expect(said_by("bob", "new 49"))
        bob.send("KICK #a alice :out")
        await watcher.expect("KICK", "#a", "alice")  # node 1 has applied all of it
    got = await alice.collect_until("KICK")
    opening = got[0]
    assert opening.command == "BATCH" and opening.tags.get("label") == "J", got[:3]
    ref = opening.params[0][1:]
    end = next(i for i, m in enumerate(got) if m.command == "BATCH" and m.params[0] == "-" + ref)
    reply, after = got[1:end], got[end + 1 :]
    assert [m.command for m in reply if m.command != "BATCH"] == ["JOIN", "353", "366", *["PRIVMSG"] * 5], reply
    assert [m.params[-1] for m in reply if m.command == "PRIVMSG"] == [f"old {i}" for i in range(5)]
    assert [m.params[-1] for m in after] == [f"new {i}" for i in range(50)] + ["out"], after
    assert not [m for m in after if "batch" in m.tags or "label" in m.tags]
    bob.send("JOIN #b")
    await bob.expect("JOIN", "#b")
    alice.send("JOIN #b")  # not stuck: her next JOIN is answered
    await alice.expect("366", "alice", "#b")


async def test_lines_said_on_another_node_before_a_join_are_replayed_even_if_not_stored_yet(stored) -> None:
    network, url = stored
    n1, n2 = await network.start(2, "history.events=false")  # only messages are written to the store
    bob = await network.client(n2, "bob", "#a")
    watcher = await network.client(n1, "watcher", "#a")
    alice = await network.client(n1, "alice", caps=("batch", "server-time"))  # no draft/chathistory: replays
    await caught_up(bob)
    async with locked(url, "messages", "SHARE"):  # node 2's commits are slow (as a busy PostgreSQL makes them)
        for i in range(3):
            bob.send(f"PRIVMSG #a :before {i}")
        await watcher.expect(said_by("bob", "before 2"))  # node 1 has relayed them: they come before her JOIN
        alice.send("JOIN #a")
        await alice.expect("366")
    bob.send("PRIVMSG #a :after")
    got = await alice.collect_until(said_by("bob", "after"))
    # not live (said before she joined) and not replayed (not in the store when it was read): lost
    assert [m.params[-1] for m in got if m.command == "PRIVMSG"] == ["before 0", "before 1", "before 2", "after"]


# -- per-address limits: an IPv6 /64 is one address, network-wide --------------------------


async def test_an_ipv6_64_counts_as_one_address_across_nodes_and_frees_on_quit(network: Cluster) -> None:
    n1, n2 = await network.start(2, "limits.max_clients_per_ip=2")
    one = await via_gateway(network, n1, "2001:db8:1:2::1", "one")
    assert await admitted(one)
    two = await via_gateway(network, n2, "2001:db8:1:2:ffff:ffff:ffff:fffe", "two")  # the same /64, node 2
    assert await admitted(two)
    for node, ip, nick in ((n1, "2001:db8:1:2::3", "three"), (n2, "2001:db8:1:2:0:0:0:4", "four")):
        assert not await admitted(await via_gateway(network, node, ip, nick)), nick  # the /64 is full
    other = await via_gateway(network, n2, "2001:db8:1:3::1", "other")  # the next /64: in
    assert await admitted(other)
    await one.join("#c")
    await other.join("#c")
    one.send("QUIT :bye")
    await other.expect("QUIT")  # node 2 has applied it: one place is free
    five = await via_gateway(network, n2, "2001:db8:1:2::5", "five")
    assert await admitted(five)
    assert not await admitted(await via_gateway(network, n1, "2001:db8:1:2::6", "six"))
    oper = await network.client(n1, "oper")
    await oper_up(oper)
    found = await digests(oper, 2)
    assert len(set(found.values())) == 1, found


async def test_an_ipv4_mapped_address_counts_as_its_ipv4_address_on_another_node(network: Cluster) -> None:
    n1, n2 = await network.start(2, "limits.max_clients_per_ip=1")
    plain = await via_gateway(network, n1, "192.0.2.7", "plain")
    assert await admitted(plain)
    assert not await admitted(await via_gateway(network, n2, "0::ffff:192.0.2.7", "mapped"))
    assert not await admitted(await via_gateway(network, n2, "[::ffff:c000:207]", "mapped2"))


async def test_a_stopped_node_s_users_free_their_ipv6_network_for_the_others(network: Cluster) -> None:
    n1, n2 = await network.start(2, "limits.max_clients_per_ip=1")
    gone = await via_gateway(network, n2, "2001:db8:9:9::1", "gone")
    assert await admitted(gone)
    await gone.join("#c")
    watcher = await network.client(n1, "watcher", "#c")
    assert not await admitted(await via_gateway(network, n1, "2001:db8:9:9::2", "early"))
    await n2.stop()
    await watcher.expect(lambda m: m.command == "QUIT" and (m.source or "").startswith("gone!"))
    later = await via_gateway(network, n1, "2001:db8:9:9::3", "later")
    assert await admitted(later)


async def snapshot_holds(cluster: Cluster, check: Callable[[dict], bool]) -> None:  # type: ignore[type-arg]
    """Wait until the snapshot in Redis satisfies `check(state)` (snapshot.dump's form)."""
    r = aioredis.from_url(cluster.url)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while True:
            blob = await r.get(f"{cluster.keyspace}:snapshot")
            if blob is not None and check(json.loads(blob)["state"]):
                return
            assert loop.time() < deadline, "no snapshot holding the expected state"
            await asyncio.sleep(0.05)
    finally:
        await r.aclose()


def nicks_in(state: dict) -> set[str]:  # type: ignore[type-arg]
    return {u[1] for u in state["users"]}


async def test_a_node_started_from_a_snapshot_counts_ipv6_networks_as_the_others_do(network: Cluster) -> None:
    (n1,) = await network.start(1, "limits.max_clients_per_ip=2", FAST_SNAPSHOTS)
    first = await via_gateway(network, n1, "2001:db8:7:7::1", "first")
    second = await via_gateway(network, n1, "2001:db8:7:7:1::2", "second")
    assert await admitted(first) and await admitted(second)
    await first.join("#c")
    await snapshot_holds(network, lambda s: {"first", "second"} <= nicks_in(s))
    n2 = await network.add("limits.max_clients_per_ip=2", FAST_SNAPSHOTS)
    assert not await admitted(await via_gateway(network, n2, "2001:db8:7:7::3", "third"))
    watcher = await network.client(n2, "watcher", "#c")
    first.send("QUIT :bye")
    await watcher.expect("QUIT")
    fourth = await via_gateway(network, n2, "2001:db8:7:7::4", "fourth")
    assert await admitted(fourth)
    assert not await admitted(await via_gateway(network, n1, "2001:db8:7:7::5", "fifth"))
    oper = await network.client(n2, "oper")
    await oper_up(oper)
    found = await digests(oper, 2)
    assert len(set(found.values())) == 1, found


# -- channel bans on addresses and blocks, set on one node, for users on another ------------


async def test_bans_on_addresses_and_blocks_set_on_one_node_hold_for_users_of_another(network: Cluster) -> None:
    n1, n2 = await network.start(2, FAST_SNAPSHOTS)
    bob = await network.client(n2, "bob", "#room")
    bob.send("MODE #room +b *!*@2001:DB8:5:0::/48")
    assert (await bob.expect("MODE", "#room")).params == ["#room", "+b", "*!*@2001:db8:5::/48"]
    bob.send("MODE #room +b *!*@203.0.113.5")
    await bob.expect("MODE", "#room", "+b", "*!*@203.0.113.5")
    bob.send("MODE #room +b m:*!*@198.51.100.0/24")
    await bob.expect("MODE", "#room", "+b", "m:*!*@198.51.100.0/24")
    v6 = await via_gateway(network, n1, "2001:db8:5:1::7", "v6")
    named = await via_gateway(network, n1, "203.0.113.5", "named", host="user.example.net")
    quiet = await via_gateway(network, n1, "198.51.100.9", "quiet", host="quiet.example.net")
    outside = await via_gateway(network, n1, "2001:db8:6::1", "outside")
    for client in (v6, named, quiet, outside):
        assert await admitted(client)
    await caught_up(outside)  # node 1 has the bans
    for client in (v6, named):
        client.send("JOIN #room")
        assert (await client.expect(lambda m: m.command in ("474", "366"))).command == "474", client.nick
    await outside.join("#room")
    await quiet.join("#room")  # a mute lets in...
    quiet.send("PRIVMSG #room :hello")
    assert (await quiet.expect(lambda m: m.command in ("404", "PONG"))).command == "404"  # ...but not speak
    bob.send("MODE #room +e *!*@2001:db8:5:1::/64")  # an exception for v6's /64, set on node 2
    await bob.expect("MODE", "#room", "+e")
    await caught_up(v6)
    await v6.join("#room")
    bob.send("MODE #room +b *!*@2001:db8:6::/48")  # outside is in: a ban keeps it quiet and its nick
    await outside.expect("MODE", "#room", "+b")
    outside.send("PRIVMSG #room :hello")
    assert (await outside.expect(lambda m: m.command in ("404", "PONG"))).command == "404"
    outside.send("NICK outside2")
    assert (await outside.expect(lambda m: m.command in ("NICK", "435"))).command == "435"
    # a node started later, from a snapshot, knows the blocks
    await snapshot_holds(network, lambda s: any(
        c["name"] == "#room" and any(e[0] == "*!*@2001:db8:6::/48" for e in c["lists"].get("b", []))
        for c in s["channels"]))  # fmt: skip
    n3 = await network.add(FAST_SNAPSHOTS)
    late = await via_gateway(network, n3, "2001:db8:5:2::1", "late")
    assert await admitted(late)
    late.send("JOIN #room")
    assert (await late.expect(lambda m: m.command in ("474", "366"))).command == "474"
    muted = await via_gateway(network, n3, "198.51.100.10", "muted")
    assert await admitted(muted)
    await muted.join("#room")
    muted.send("PRIVMSG #room :hello")
    assert (await muted.expect(lambda m: m.command in ("404", "PONG"))).command == "404"


# -- SAMODE from an operator on one node --------------------------------------------------------


async def test_samode_from_an_operator_on_one_node_changes_what_members_on_another_see(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    bob = await network.client(n2, "bob", "#s")
    carol = await network.client(n2, "carol", "#s")
    oper = await network.client(n1, "oper")
    oper.send("SAMODE #s +m")
    assert (await oper.expect("481")).params[1] == "Permission Denied- You're not an IRC operator"
    await oper_up(oper)
    await caught_up(carol)  # carol's join is in the log before what follows
    await caught_up(oper)
    oper.send("SAMODE #s -o+o+mk bob carol sesame")
    for member in (bob, carol):
        line = await member.expect("MODE", "#s")
        assert line.source.startswith("oper!"), line
        assert line.params == ["#s", "-o+omk", "bob", "carol", "sesame"], line
    told = await oper.expect(lambda m: m.command == "NOTICE" and "SAMODE" in m.params[-1])
    assert told.params[-1] == "*** SAMODE #s -o+omk bob carol *", told
    bob.send("MODE #s -m")  # bob is no op any more
    assert (await bob.expect("482")).params[1] == "#s"
    carol.send("MODE #s")
    modes = (await carol.expect("324")).params[2:]
    assert sorted(modes[0]) == sorted("+kmnt") and modes[1:] == ["sesame"], modes
    oper.send("SAMODE #nowhere +m")
    assert (await oper.expect("403")).params[1] == "#nowhere"


# -- services across nodes ------------------------------------------------------------------------


async def test_amode_changes_the_status_of_the_account_s_members_on_another_node(stored) -> None:
    network, _ = stored
    n1, n2 = await network.start(2)
    alice = await registered(network, n1, "alice", "#garden")
    assert await cs(alice, "REGISTER #garden") == "Channel #garden successfully registered"
    dave = await registered(network, n2, "dave", "#garden")
    phone = await network.client(n1, "dave_phone", "#garden")
    assert (await ns(phone, f"IDENTIFY dave {PASSWORD}")).startswith("You're now logged in")
    await caught_up(dave)
    await caught_up(alice)
    assert await cs(alice, "AMODE #garden +o dave") == "Successfully set persistent mode +o on dave"
    both = {("+o", "dave"), ("+o", "dave_phone")}
    for client in (dave, phone, alice):  # each of dave's connections, on either node, and whoever watches
        lines = [await client.expect("MODE", "#garden") for _ in range(2)]
        assert {m.source for m in lines} == {CS} and {tuple(m.params[1:]) for m in lines} == both, lines
    assert await cs(alice, "AMODE #garden -o dave") == "Successfully removed dave from the access list"
    for client in (dave, phone, alice):
        lines = [await client.expect("MODE", "#garden") for _ in range(2)]
        assert {tuple(m.params[1:]) for m in lines} == {("-o", "dave"), ("-o", "dave_phone")}, lines


async def test_ghost_reaches_a_connection_still_registering_on_another_node(stored) -> None:
    network, _ = stored
    n1, n2 = await network.start(2)
    owner = await registered(network, n1, "carol")
    owner.send("NICK carol_")
    await owner.expect("NICK")
    holder = await network.client(n2)
    holder.send("NICK carol")  # registering: it holds the nick, nothing more
    holder.send("PING :claimed")
    await holder.expect("PONG")  # its claim is in the log
    await caught_up(owner)  # node 1 has applied it
    stranger = await network.client(n1, "stranger")
    assert await ns(stranger, "GHOST carol") == "You don't own that nick"
    assert await ns(owner, "GHOST carol") == "carol has been ghosted"
    assert any("GHOSTed by carol_" in line for line in await holder.closed())
    owner.send("NICK carol")
    assert (await owner.expect(lambda m: m.command in ("NICK", "433"))).params[-1] == "carol"


# -- a JOIN of several channels while the log is out of reach --------------------------------


def in_label(messages: list[Message], label: str) -> list[Message]:
    """The lines of the reply labeled `label`: one line carrying it, or its batch's lines."""
    found: list[Message] = []
    refs: set[str] = set()
    for m in messages:
        if m.command == "BATCH" and m.params[0].startswith("+") and m.tags.get("label") == label:
            refs.add(m.params[0][1:])
        elif m.tags.get("label") == label or m.tags.get("batch") in refs:
            found.append(m)
    return found


async def test_a_labeled_join_of_several_channels_refused_while_the_log_is_out_of_reach_is_answered(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    config = tmp_path / "hubbub.toml"
    config.write_text(CONFIG, encoding="utf-8")
    network = Cluster(own_redis.url, str(config))
    try:
        (n1,) = await network.start(1)
        bob = await network.client(n1, "bob", "#x")
        alice = await network.client(n1, "alice", caps=LABELED)
        own_redis.stop(kill=True)
        bob.send("PRIVMSG #x :probe")  # waits, then is refused: the node refuses what clients send now
        assert (await bob.expect("FAIL", timeout=15)).params[:2] == ["PRIVMSG", "TEMPORARILY_UNAVAILABLE"]
        alice.send("@label=K JOIN #k")  # one channel: its refusal is its labeled reply
        alice.send("@label=J JOIN #a,#b,#c")
        alice.send("@label=P PING :x")  # never stuck: later lines are answered
        got = await alice.collect_until("PONG", timeout=10)
        assert [m.params[:2] for m in in_label(got, "K")] == [["JOIN", "TEMPORARILY_UNAVAILABLE"]]
        assert [m.command for m in in_label(got, "P")] == ["PONG"]
        # each channel refused, all within the JOIN's one labeled reply
        assert [m.params[:2] for m in in_label(got, "J")] == [["JOIN", "TEMPORARILY_UNAVAILABLE"]] * 3, got
    finally:
        own_redis.start()  # so that the nodes stop at once
        await network.close()


async def readers_waiting(pg: asyncpg.Connection, count: int) -> None:
    """Return once `count` requests for the read_markers table wait for its lock."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        found = await pg.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'read_markers' AND NOT l.granted"
        )
        if found >= count:
            return
        assert loop.time() < deadline, f"{found} waiting, not {count}"
        await asyncio.sleep(0.01)


async def test_after_a_flood_past_the_hold_the_next_channel_s_talk_still_comes_after_its_join(stored) -> None:
    network, url = stored
    n1, n2 = await network.start(2)
    bob = await network.client(n2, "bob", "#a", "#b")
    watcher = await network.client(n1, "watcher", "#a", "#b")
    alice = await registered(network, n1, "alice", caps=(*LABELED, *MARKER))
    await caught_up(bob)
    look, first, second = [await asyncpg.connect(url) for _ in range(3)]
    try:
        held = first.transaction()
        await held.start()
        await first.execute("LOCK TABLE read_markers IN ACCESS EXCLUSIVE MODE")
        alice.send("@label=J JOIN #a,#b")
        await watcher.expect(lambda m: m.command == "JOIN" and m.params[0] == "#a" and m.source.startswith("alice!"))
        await readers_waiting(look, 1)  # #a's marker waits
        bob.send("".join(f"PRIVMSG #a :flood {i}\r\n" for i in range(1010)) + "PRIVMSG #a :flood end\r\n")
        await watcher.expect(said_by("bob", "flood end"), timeout=30)
        again = second.transaction()
        await again.start()
        locking = asyncio.create_task(second.execute("LOCK TABLE read_markers IN ACCESS EXCLUSIVE MODE"))
        await readers_waiting(look, 2)  # behind #a's read
        await held.rollback()
        await locking
        await watcher.expect(lambda m: m.command == "JOIN" and m.params[0] == "#b" and m.source.startswith("alice!"))
        await readers_waiting(look, 1)  # #b's marker waits
        bob.send("PRIVMSG #b :in b")
        await watcher.expect(said_by("bob", "in b"))
        await again.rollback()
    finally:
        for pg in (look, first, second):
            await pg.close()
    alice.send("PING :done")
    got = await alice.collect_until("PONG", timeout=15)
    flood = [m.params[-1] for m in got if m.command == "PRIVMSG" and m.params[-1].startswith("flood")]
    assert flood == [f"flood {i}" for i in range(1010)] + ["flood end"]  # past the limit: out as it came, once
    seen = [(m.command, about(m), m.params[-1]) for m in got if m.command != "BATCH"]
    assert seen.count(("PRIVMSG", "#b", "in b")) == 1
    # said in #b while #b's own reply waited: after its JOIN, as for the first channel
    assert seen.index(("JOIN", "#b", "#b")) < seen.index(("PRIVMSG", "#b", "in b")), [
        x for x in seen if not x[2].startswith("flood")
    ]
