"""A cluster on one PostgreSQL: accounts and history are the network's, whichever node
a client uses, and the whole network restarted finds them again."""

from __future__ import annotations

import base64

from tests.cluster.support import Cluster, caught_up
from tests.services import RedisServer


def plain(account: str, password: str) -> str:
    return base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()


async def test_accounts_and_history_are_the_network_s(redis_server: RedisServer, cluster_config: str,
                                                      postgres_url: str) -> None:  # fmt: skip
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2)
        alice = await cluster.client(n1, "alice", "#c")
        alice.send("NICKSERV REGISTER correct-horse")
        await alice.expect("900")  # logged in to the new account
        alice.send("PRIVMSG #c :kept for later")
        await caught_up(alice)

        # the account logs in on the other node (SASL PLAIN), and its history is there
        bob = await cluster.client(n2)
        bob.send("CAP LS 302")
        bob.send("CAP REQ :sasl draft/chathistory batch server-time message-tags")
        await bob.expect("CAP", "*", "ACK")
        bob.send("AUTHENTICATE PLAIN")
        await bob.expect("AUTHENTICATE", "+")
        bob.send(f"AUTHENTICATE {plain('alice', 'correct-horse')}")
        await bob.expect("903")
        bob.send("CAP END")
        await bob.register("alicebis")
        await bob.join("#c")
        bob.send("CHATHISTORY LATEST #c * 10")
        await bob.expect("BATCH")
        texts = [m.params[-1] for m in await bob.collect_until("BATCH") if m.command == "PRIVMSG"]
        assert texts == ["kept for later"]

        # the whole network stops and starts again: accounts come back from the store
        await cluster.close()
        redis_server.stop(kill=True)
        redis_server.start()
        cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
        (n3,) = await cluster.start(1)
        history_caps = ["draft/chathistory", "batch", "server-time", "message-tags"]
        carol = await cluster.client(n3, "carol", "#c", caps=history_caps)
        carol.send("NICKSERV INFO alice")
        info = await carol.expect(lambda m: m.command == "NOTICE" and m.source.startswith("NickServ!"))
        assert info.params[-1] == "Account: alice"
        carol.send("CHATHISTORY LATEST #c * 10")
        await carol.expect("BATCH")
        texts = [m.params[-1] for m in await carol.collect_until("BATCH") if m.command == "PRIVMSG"]
        assert texts == ["kept for later"]
    finally:
        await cluster.close()


async def test_a_node_joining_later_leaves_a_live_closed_channel_s_history_alone(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """A lone server forgets, at start, the history of closed channels that ended with its
    last run; a node of a cluster must not: the channel lives on in the other nodes."""
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    history_caps = ["draft/chathistory", "batch", "server-time", "message-tags"]
    try:
        (n1,) = await cluster.start(1)
        alice = await cluster.client(n1, "alice", "#hush", caps=history_caps)
        alice.send("MODE #hush +s")
        alice.send("PRIVMSG #hush :between us")
        await caught_up(alice)
        (n2,) = await cluster.start(1)
        bob = await cluster.client(n2, "bob", caps=history_caps)
        await caught_up(alice)  # alice's node knows bob now
        alice.send("INVITE bob #hush")
        await bob.expect("INVITE")
        await bob.join("#hush")
        bob.send("CHATHISTORY LATEST #hush * 10")
        await bob.expect("BATCH")
        texts = [m.params[-1] for m in await bob.collect_until("BATCH") if m.command == "PRIVMSG"]
        assert texts == ["between us"]
    finally:
        await cluster.close()


async def test_a_channel_with_nothing_said_leaves_nothing_once_its_last_member_network_wide_leaves(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """What a channel where nothing was said kept goes when it ends: when the last member
    of the whole network leaves it (written by that member's node), not when a node starts
    without it (a lone server's start ends the channels of its last run; a node's must not)."""
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    playback = ["draft/chathistory", "batch", "server-time", "message-tags", "draft/event-playback"]

    async def kept(client) -> list[tuple[str, str]]:  # (command, nick) of each line of #quiet's history
        client.send("CHATHISTORY LATEST #quiet * 10")
        await client.expect("BATCH")
        found = (await client.collect_until("BATCH"))[:-1]
        return [(m.command, m.source.partition("!")[0]) for m in found]

    try:
        (n1,) = await cluster.start(1)
        alice = await cluster.client(n1, "alice", "#quiet", caps=playback)
        await caught_up(alice)
        (n2,) = await cluster.start(1)
        bob = await cluster.client(n2, "bob", "#quiet", caps=playback)
        assert await kept(bob) == [("JOIN", "alice"), ("JOIN", "bob")]  # n2's start left it alone
        alice.send("PART #quiet")
        await alice.expect("PART")  # after its node's commit
        await bob.expect("PART")
        assert await kept(bob) == [("JOIN", "alice"), ("JOIN", "bob"), ("PART", "alice")]  # bob is still in it
        bob.send("PART #quiet")
        await bob.expect("PART")  # the channel ended: bob's node wrote it
        carol = await cluster.client(n1, "carol", "#quiet", caps=playback)
        assert await kept(carol) == [("JOIN", "carol")]
    finally:
        await cluster.close()


async def test_a_node_lost_with_every_member_of_a_channel_ends_it_for_the_store_too(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """A node killed: the node that declares it lost quits its users for everyone, and
    writes what their channels' ends leave: nothing of a closed one, nothing of one where
    nothing was said."""
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    playback = ["draft/chathistory", "batch", "server-time", "message-tags", "draft/event-playback"]

    async def kept(client, channel: str) -> list[tuple[str, str]]:
        client.send(f"CHATHISTORY LATEST {channel} * 10")
        await client.expect("BATCH")
        found = (await client.collect_until("BATCH"))[:-1]
        return [(m.command, m.source.partition("!")[0]) for m in found]

    try:
        n1, n2 = await cluster.start(2)
        watcher = await cluster.client(n1, "watcher", "#meet", caps=playback)
        alice = await cluster.client(n2, "alice", "#quiet", "#hush", "#meet", caps=playback)
        alice.send("MODE #hush +s")
        alice.send("PRIVMSG #hush :between us")
        await caught_up(alice)
        n2.kill()
        await watcher.expect("QUIT", timeout=15)  # alice's, once n1 declared n2 lost
        await caught_up(watcher)
        carol = await cluster.client(n1, "carol", "#quiet", "#hush", caps=playback)
        assert await kept(carol, "#quiet") == [("JOIN", "carol")]
        assert await kept(carol, "#hush") == [("JOIN", "carol")]
    finally:
        await cluster.close()
